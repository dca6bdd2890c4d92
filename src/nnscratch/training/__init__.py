"""Training layer: the ``fit`` loop, callbacks, labels for per-epoch metrics, checkpoints and
exact resume. Imports the engine and the model-file layer (checkpoints are model files)."""

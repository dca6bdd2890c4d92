"""Engine layer: the neural-network math, every gradient derived by hand.

``Parameter`` and ``Module``; the layers (``engine.layers``), losses, optimizers and schedulers
(``engine.optim``), initialisers, the stable element-wise functions (``functional``), gradient
checking, inference (``predict``), ``History`` and metrics, and one name table per kind
(``names``). Imports only :mod:`nnscratch.base`.
"""

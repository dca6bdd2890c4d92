"""Sampling from a trained sequence model, one token at a time (a character-level language model)."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnscratch.base.backend import as_generator
from nnscratch.base.errors import HyperparameterError, ShapeError
from nnscratch.base.validation import check_positive, check_positive_int, describe

from .functional import softmax
from .module import Module


def context_length(model: Module) -> int | None:
    """The longest input a model's positional encodings allow (``max_len``), or None."""
    lengths = [m.max_len for m in model.modules() if type(m).__name__ == "PositionalEmbedding"]
    return min(lengths) if lengths else None


def generate(
    model: Module,
    prompt: Any,
    length: int,
    *,
    temperature: float = 1.0,
    window: int | None = None,
    seed: int | np.random.Generator | None = None,
) -> np.ndarray:
    r"""Continue the token ids ``prompt`` by ``length`` tokens sampled from ``model``.

    At each step the model reads the last ``window`` tokens (default: its positional table's
    ``max_len``, else everything so far) as one sequence (1, t), and the next token is drawn from

        p = softmax(z / τ),   z = the scores at the last position,   τ = ``temperature``

    (τ < 1 sharpens the distribution towards the likeliest token, τ > 1 flattens it). The model
    must map (N, t) ids to (N, t, V) scores with a causal mask, so position t saw tokens ≤ t only.
    Returns the ``length`` new ids; the model is in eval mode meanwhile.
    """
    ids = np.asarray(prompt)
    if ids.ndim != 1 or ids.size == 0 or ids.dtype.kind not in "iu":
        raise ShapeError(f"prompt must be a non-empty 1-D array of token ids. Received: {describe(ids)}")
    n = check_positive_int(length, "length")
    tau = check_positive(temperature, "temperature")
    window = window or context_length(model)
    if window is not None:
        window = check_positive_int(window, "window")
    rng = as_generator(seed)
    tokens = [int(i) for i in ids]
    was_training = model.training
    model.eval()
    try:
        for _ in range(n):
            context = np.asarray(tokens[-window:] if window else tokens, dtype=np.int64)[None, :]
            scores = model(context)
            if scores.ndim != 3:
                raise HyperparameterError(
                    "generate needs a model that outputs scores per position (N, t, V), e.g. ending in "
                    f"Linear(d_model, V) after causal TransformerEncoderLayers. Received: {describe(scores)}"
                )
            p = softmax(scores[0, -1].astype(np.float64) / tau)
            tokens.append(int(rng.choice(len(p), p=p)))
    finally:
        model.train(was_training)
    return np.asarray(tokens[len(ids) :], dtype=np.int64)


__all__ = ["context_length", "generate"]

"""What a report shows of a sequence model beyond its numbers: a few held-out predictions side by
side with their targets, and, when ``[evaluation] generate`` asks for it, text sampled from it."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnscratch.base.errors import ConfigError, HyperparameterError
from nnscratch.data import Dataset, encode_text
from nnscratch.engine.generation import generate
from nnscratch.engine.inference import predict
from nnscratch.engine.module import Module

from .config import ExperimentConfig

#: rows shown side by side with their targets
SHOWN_ROWS = 3


def _decode(ids: np.ndarray, vocabulary: list[str]) -> str:
    """Tokens as text: characters joined as they are, longer names separated by spaces."""
    words = [vocabulary[int(i)] for i in ids]
    return "".join(words) if all(len(w) == 1 for w in vocabulary) else " ".join(words)


def sample_rows(model: Module, X: np.ndarray, y: np.ndarray, data: Dataset) -> list[dict[str, Any]]:
    """The first held-out rows: input, predicted and target sequences (as text), and whether every
    position is right."""
    rows = []
    y_pred = predict(model, X[:SHOWN_ROWS])
    shown = [name.replace("\n", "⏎") for name in data.target_names]  # one table row per sequence
    for x_row, p_row, t_row in zip(X[:SHOWN_ROWS], y_pred, y[:SHOWN_ROWS], strict=True):
        rows.append(
            {
                "input": _decode(x_row, shown),
                "predicted": _decode(p_row, shown),
                "target": _decode(t_row, shown),
                "exact": bool(np.array_equal(p_row, t_row)),
            }
        )
    return rows


def generated_text(
    cfg: ExperimentConfig, model: Module, data: Dataset, first_row: np.ndarray, seed: int
) -> dict[str, Any] | None:
    """``[evaluation] generate`` tokens sampled from ``model`` after the prompt (default: the first
    held-out row), or None when not asked for."""
    e = cfg.evaluation
    if not e.generate:
        return None
    if e.prompt is not None:
        try:
            prompt = encode_text(e.prompt, data.target_names)
        except HyperparameterError as exc:
            raise ConfigError(f"evaluation.prompt: {exc}. Received: prompt = {e.prompt!r}") from None
    else:
        prompt = first_row.astype(np.int64)
    ids = generate(model, prompt, e.generate, temperature=e.temperature, seed=seed)
    return {
        "prompt": _decode(prompt, data.target_names),
        "text": _decode(ids, data.target_names),
        "temperature": e.temperature,
        "tokens": e.generate,
    }


__all__ = ["SHOWN_ROWS", "generated_text", "sample_rows"]

"""Is the run learning? Divergence stops it; saturation and no progress warn.

A NaN loss is not the only way training fails. With a learning rate far too large, a loss on
logits can grow to 1e6 while staying finite, and a sigmoid output can pin every sample at 0 or
1 where the gradient vanishes: the run "finishes" with accuracy 0.5. These checks make such a
run say so:

- :class:`DivergenceError` (training stops) when the epoch loss exceeds
  ``LOSS_GROWTH_LIMIT`` × the first epoch's loss, or the largest ``|θ|`` exceeds
  ``WEIGHT_GROWTH_LIMIT`` × the largest initial ``|θ|`` (at least 1);
- :class:`TrainingWarning` at the end when every output is saturated while some sample is still
  misclassified, or when the last epoch's loss is no lower than the first's (by a millionth).

Losses summed over samples are compared per sample, so the limits do not depend on ``N``.
"""

from __future__ import annotations

import warnings

import numpy as np

from nnscratch.base.errors import DivergenceError, TrainingWarning
from nnscratch.engine.functional import sigmoid, softmax
from nnscratch.engine.losses import BCEWithLogitsLoss, CrossEntropyLoss, Loss
from nnscratch.engine.module import Module

from .labels import Labeler

#: The epoch loss may grow to this multiple of the first epoch's loss before the run is stopped.
LOSS_GROWTH_LIMIT = 1e3
#: The largest |weight| may grow to this multiple of the largest initial |weight| (at least 1).
WEIGHT_GROWTH_LIMIT = 1e4
#: A probability within this distance of 0 or 1 is saturated: sigmoid'(z) = p(1 - p) < 1e-6.
SATURATION = 1e-6
#: A loss at or below this (per sample) counts as 0 when growth is measured: 1000 × 0 is 0.
LOSS_FLOOR = 1e-2
#: A last loss above (1 - this) × the first is "no lower": a millionth is no progress.
PROGRESS = 1e-6
#: The saturation check looks at the first rows only: one forward pass of bounded cost.
SATURATION_ROWS = 4096


def _largest_weight(model: Module) -> float:
    """max |θ| over the parameters (NaN if any is NaN), without an |θ| temporary: it runs after
    every epoch."""
    ends = [end for p in model.parameters() if p.data.size for end in (p.data.max(), -p.data.min())]
    return float(np.max(ends)) if ends else 0.0


def smaller_lr(lr: float) -> str:
    """The advice after a divergence; one notation for both rates (``:g`` alone would print
    lr=1e+06 beside 100000)."""
    return f"Try a smaller learning rate than lr={lr:.3g}, e.g. lr={lr / 10:.3g}."


class HealthCheck:
    """Watches one ``fit``: :meth:`after_epoch` raises on divergence, :meth:`at_end` warns."""

    def __init__(self, model: Module, loss: Loss, n_samples: int) -> None:
        self.model, self.loss = model, loss
        self.per_sample = 1.0 / n_samples if loss.reduction == "sum" else 1.0
        self.weight_limit = WEIGHT_GROWTH_LIMIT * max(1.0, _largest_weight(model))
        self.first_loss: float | None = None

    def after_epoch(self, epoch: int, epoch_loss: float, lr: float) -> None:
        """Raise :class:`DivergenceError` if this epoch's loss or the weights blew up."""
        value = epoch_loss * self.per_sample
        if self.first_loss is None:
            self.first_loss = value
        limit = LOSS_GROWTH_LIMIT * max(self.first_loss, LOSS_FLOOR)
        if value > limit:
            raise DivergenceError(
                f"training diverged at epoch {epoch}: the loss grew to {epoch_loss:.4g} from "
                f"{self.first_loss / self.per_sample:.4g} at epoch 1 (over {LOSS_GROWTH_LIMIT:g}×). "
                f"{smaller_lr(lr)}"
            )
        largest = _largest_weight(self.model)
        if not largest <= self.weight_limit:  # also catches NaN weights
            raise DivergenceError(
                f"training diverged at epoch {epoch}: the largest weight reached |θ| = {largest:.4g}, "
                f"over {WEIGHT_GROWTH_LIMIT:g}× its initial size. {smaller_lr(lr)}"
            )

    def at_end(
        self, X: np.ndarray, y_true: np.ndarray | None, labeler: Labeler | None, losses: list[float]
    ) -> list[str]:
        """Warn (``TrainingWarning``) about saturation and no progress; return the messages."""
        found = []
        if len(losses) >= 2 and not losses[-1] < losses[0] * (1.0 - PROGRESS):
            found.append(
                f"no progress: the last epoch's loss {losses[-1]:.6g} is not lower than the first "
                f"epoch's {losses[0]:.6g}. Try another learning rate or initialisation."
            )
        saturated = self._saturated(X, y_true, labeler)
        if saturated:
            found.append(saturated)
        for message in found:
            warnings.warn(message, TrainingWarning, stacklevel=3)
        return found

    def _saturated(self, X: np.ndarray, y_true: np.ndarray | None, labeler: Labeler | None) -> str | None:
        rows = X[:SATURATION_ROWS]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            out = self.model.forward(rows)
            proba = self._probabilities(out)
        if proba is None or not np.all(np.minimum(proba, 1.0 - proba) < SATURATION):
            return None
        if labeler is not None and y_true is not None:
            wrong = int(np.count_nonzero(labeler.pred_labels(out) != y_true[: len(rows)]))
            if wrong == 0:  # confident and right everywhere: a fit, not a failure
                return None
            what = f"{wrong} of {len(rows)} samples are misclassified"
        else:
            what = "the outputs no longer change with the inputs"
        return (
            f"saturated outputs: every output is within {SATURATION:g} of 0 or 1, where the gradient "
            f"vanishes, and {what}. Try a smaller learning rate or standardised inputs."
        )

    def _probabilities(self, out: np.ndarray) -> np.ndarray | None:
        """The output as probabilities, or None when it is not a probability (regression)."""
        if self.model.output_module().outputs_probabilities:
            return out
        if isinstance(self.loss, BCEWithLogitsLoss):
            return sigmoid(out)
        if isinstance(self.loss, CrossEntropyLoss) and self.loss.from_logits:
            return softmax(out, axis=-1)
        return None


__all__ = [
    "LOSS_GROWTH_LIMIT",
    "PROGRESS",
    "SATURATION",
    "WEIGHT_GROWTH_LIMIT",
    "HealthCheck",
]

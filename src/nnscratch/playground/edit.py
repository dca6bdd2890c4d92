"""Which parameter a request names (a weight ``W[layer][i, j]`` or a bias ``b[layer][i]``), and the
hand edit of one weight: every index and the value are checked before anything changes, so an
edit is all or nothing."""

from __future__ import annotations

from typing import Any, NamedTuple

from nnscratch.base.errors import HyperparameterError

from . import fields as F
from .session import MAX_WEIGHT, Session


class Target(NamedTuple):
    """One parameter of the network: ``kind`` "weight" (``W[layer][i, j]``) or "bias" (``b[layer][i]``)."""

    layer: int
    kind: str
    i: int
    j: int


def _index(body: dict[str, Any], key: str, size: int) -> int:
    return F.integer(key, body.get(key, 0), 0, size - 1)


def parameter_target(session: Session, body: dict[str, Any]) -> Target:
    """The parameter ``body`` names, each index checked against the network's shapes."""
    kind = body.get("kind", "weight")
    if kind not in ("weight", "bias"):
        raise HyperparameterError(f"kind must be 'weight' or 'bias'. Received: kind={kind!r}")
    linears = session.linears()
    layer = _index(body, "layer", len(linears))
    rows, cols = linears[layer].weight.data.shape
    i = _index(body, "i", rows)
    j = _index(body, "j", cols) if kind == "weight" else 0
    return Target(layer, kind, i, j)


def edit_parameter(session: Session, body: dict[str, Any]) -> Target:
    """Set the parameter ``body`` names to ``body["value"]`` (finite, within ±MAX_WEIGHT)."""
    target = parameter_target(session, body)
    value = F.number("value", body.get("value"), -MAX_WEIGHT, MAX_WEIGHT)
    session.set_parameter(*target, value)
    return target


__all__ = ["Target", "edit_parameter", "parameter_target"]

"""Small parameters laid end to end in shared buffers, so an optimizer updates them in one go.

An optimizer's update is a few ufunc calls per parameter, and each call costs about a microsecond
of NumPy dispatch whatever its size: for the 2-3-3-1 moons network (six parameters of 1 to 9
numbers) SGD's update was 7 µs of a 45 µs training step. When the small parameters of one dtype
sit side by side in one array (their data) and one other (their gradients), and their optimizer
state likewise, the update runs once over the whole set, element by element exactly as it would
per parameter (so the numbers are bit-identical).

:class:`UpdatePlan` does that for an optimizer. On the first step it copies the small parameters'
``data`` and gradient buffers into flat arrays and points each :class:`~nnscratch.Parameter` at a
view of its segment; layers keep reading ``p.data`` and writing their gradients through the
views. Every step checks that the views are still the parameters' arrays: code that assigns a new
array (``Module.astype(dtype)``, say) makes the plan rebuild itself from the current values, and after
a few rebuilds (two optimizers taking turns over one model) it stops flattening. Large parameters
(over :data:`FLAT_MAX` elements), where dispatch cost is noise, stay as they are.

What a user sees: an array taken from ``p.data`` *before* an optimizer's first step is no longer
the parameter's after it (read ``p.data`` again, as one reads ``p.grad`` again after
``zero_grad``); the optimizer's per-parameter state arrays are views into the group's, updated in
place (replace them through ``load_state_dict``, which rebuilds the plan).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..parameter import Parameter

#: Largest parameter (elements) put into a flat group; above it, one update is long enough that
#: its per-call cost does not show.
FLAT_MAX = 1 << 14
#: Rebuilds after which a plan stops flattening (something keeps replacing the arrays).
MAX_REBUILDS = 3

Update = tuple[np.ndarray, np.ndarray, dict[str, Any]]  # (θ, g, state) of one update


class FlatGroup:
    """Parameters of one dtype whose data, gradients and state are segments of flat arrays."""

    def __init__(self, params: list[Parameter], states: list[dict[str, Any]]) -> None:
        self.params, self.states = params, states
        dtype = params[0].data.dtype
        bounds = np.cumsum([0] + [p.size for p in params]).tolist()
        self._segments = [(a, b, p.shape) for a, b, p in zip(bounds[:-1], bounds[1:], params, strict=True)]
        self.data = self._gather([p.data for p in params], dtype)
        self.grad = self._gather([p._grad for p in params], dtype)
        for p, d, g in zip(params, self._views(self.data), self._views(self.grad), strict=True):
            p.data, p._grad = d, g  # the slot itself: the lazy-zero flag stays as it was
        self.state = {key: self._gather([s[key] for s in states], dtype) for key in states[0]}
        self._published = 0
        self.publish_state()
        self._expected = [(p, p.data, p._grad) for p in params]

    def _gather(self, arrays: list[np.ndarray], dtype: np.dtype) -> np.ndarray:
        flat = np.empty(self._segments[-1][1], dtype=dtype)
        for (a, b, _), arr in zip(self._segments, arrays, strict=True):
            flat[a:b] = arr.reshape(-1)
        return flat

    def _views(self, flat: np.ndarray) -> list[np.ndarray]:
        return [flat[a:b].reshape(shape) for a, b, shape in self._segments]

    def intact(self) -> bool:
        """Whether every parameter still holds its views (nothing assigned a new array)."""
        for p, d, g in self._expected:
            if p.data is not d or p._grad is not g:
                return False
        return True

    def update(self) -> Update:
        """(θ, g, state) of the whole group; zero-marked gradients are filled with their zeros."""
        for p in self.params:
            if p._grad_is_zero:
                p.grad  # noqa: B018 -- reading it writes the zeros into the segment
        return self.data, self.grad, self.state

    def publish_state(self) -> None:
        """Give each parameter's state dict views of state arrays the last update created."""
        if len(self.state) == self._published:
            return
        for key, flat in self.state.items():
            for s, view in zip(self.states, self._views(flat), strict=True):
                s[key] = view
        self._published = len(self.state)


def _same_layout(v: Any, d: np.ndarray) -> bool:
    return isinstance(v, np.ndarray) and v.shape == d.shape and v.dtype == d.dtype


def _groupable(params: list[Parameter], states: list[dict[str, Any]]) -> dict[Any, list[int]]:
    """Indices of the parameters that can share a group, by dtype (groups of two or more)."""
    groups: dict[Any, list[int]] = {}
    seen: set[int] = set()
    for i, (p, s) in enumerate(zip(params, states, strict=True)):
        if id(p) in seen:  # listed twice: the per-parameter loop updates it twice, keep that
            return {}
        seen.add(id(p))
        d, g = p.data, p._grad
        if (
            not isinstance(d, np.ndarray)
            or not isinstance(g, np.ndarray)
            or d.size > FLAT_MAX
            or g.shape != d.shape
            or g.dtype != d.dtype
            or not all(_same_layout(v, d) for v in s.values())
        ):
            continue
        groups.setdefault((d.dtype, tuple(sorted(s))), []).append(i)
    return {k: v for k, v in groups.items() if len(v) > 1}


class UpdatePlan:
    """What an optimizer's step iterates over: flat groups of small parameters, then the rest."""

    def __init__(self, params: list[Parameter], states: list[dict[str, Any]]) -> None:
        self.params, self.states = params, states
        self.rebuilds = -1
        self.groups: list[FlatGroup] = []
        self.single: list[int] = list(range(len(params)))
        self._build()

    def _build(self) -> None:
        self.rebuilds += 1
        grouped = _groupable(self.params, self.states) if self.rebuilds <= MAX_REBUILDS else {}
        params, states = self.params, self.states
        self.groups = [
            FlatGroup([params[i] for i in idx], [states[i] for i in idx]) for idx in grouped.values()
        ]
        in_group = {i for idx in grouped.values() for i in idx}
        self.single = [i for i in range(len(self.params)) if i not in in_group]

    def updates(self) -> list[Update]:
        """The (θ, g, state) triples of this step, rebuilding the groups if one was broken up."""
        if not all(group.intact() for group in self.groups):
            self._build()
        out = [group.update() for group in self.groups]
        params, states = self.params, self.states
        out += [(params[i].data, params[i].grad, states[i]) for i in self.single]
        return out

    def publish_state(self) -> None:
        for group in self.groups:
            group.publish_state()

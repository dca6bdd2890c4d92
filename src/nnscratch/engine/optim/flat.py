"""Flat views over parameters that lie side by side, so that an optimizer updates them in one go.

An optimizer's update is a few ufunc calls per parameter, and for small parameters each call's
fixed cost outweighs its arithmetic. Small parameters are created as consecutive segments of
shared buffers (:mod:`nnscratch.engine.arena`), so the parameters of a model, and their gradients,
usually form one contiguous run: :class:`UpdatePlan` finds those runs and gives the optimizer one
(θ, g, state) triple per run, whose θ and g are views spanning the run's ``data`` and ``grad``
arrays. The update then runs once over the whole run, element by element exactly as it would per
parameter (so the numbers are bit-identical). Nothing is copied or re-pointed: every parameter
keeps its own ``data`` and ``grad`` arrays, which the flat views share memory with.

The optimizer's own state (momentum buffers, Adam's moments) is kept as flat arrays per run, and
each parameter's state entry is a view of its segment. A plan checks before each step and each
``zero_grad`` that no parameter was given a new array (:attr:`Parameter.rebinds`); if one was
(``Module.astype`` to another dtype, say), it finds the runs again from the current arrays.
Parameters over :data:`FLAT_MAX` elements, where the fixed cost does not show, are updated one by one.

An optimizer with several parameter groups (different hyperparameters) gives each parameter its
group's number: a run holds parameters of one group only, and :meth:`UpdatePlan.group_updates`
lists each group's triples apart. (Groups that alternate in memory, such as weights decayed and
biases not, thus leave runs of one parameter: those are updated one by one.)
"""

from __future__ import annotations

from operator import attrgetter, is_
from typing import Any

import numpy as np

from ..arena import ARENA_MAX
from ..parameter import Parameter

#: Largest parameter (elements) updated as part of a flat run.
FLAT_MAX = ARENA_MAX

Update = tuple[np.ndarray, np.ndarray, dict[str, Any]]  # (θ, g, state) of one update
_data, _grad = attrgetter("data"), attrgetter("grad")


def _segment(a: np.ndarray) -> tuple[np.ndarray, int] | None:
    """``(buffer, offset)`` when ``a`` is a C-contiguous view of a 1-D buffer, else None."""
    base = a.base
    if not isinstance(base, np.ndarray) or base.ndim != 1 or base.dtype != a.dtype:
        return None
    if not (a.flags.c_contiguous and base.flags.c_contiguous):
        return None
    offset, rest = divmod(a.ctypes.data - base.ctypes.data, a.itemsize)
    return (base, offset) if rest == 0 else None


def _same_layout(v: Any, d: np.ndarray) -> bool:
    return isinstance(v, np.ndarray) and v.shape == d.shape and v.dtype == d.dtype


def _runs(params: list[Parameter], states: list[dict[str, Any]], group_of: list[int]) -> list[list[int]]:
    """Indices of parameters whose data and gradients are consecutive segments of the same two
    buffers (in buffer order), with state entries of the same kind, in the same parameter group:
    runs of two or more."""
    found = []
    if len({id(p) for p in params}) < len(params):  # listed twice: updated twice, one by one
        return []
    for i, (p, s) in enumerate(zip(params, states, strict=True)):
        d, g = p.data, p.grad
        if not (isinstance(d, np.ndarray) and isinstance(g, np.ndarray)) or d.size > FLAT_MAX:
            continue
        if g.shape != d.shape or g.dtype != d.dtype or not all(_same_layout(v, d) for v in s.values()):
            continue
        seg_d, seg_g = _segment(d), _segment(g)
        if seg_d is not None and seg_g is not None:
            found.append((id(seg_d[0]), seg_d[1], i, seg_d, seg_g, (group_of[i], *sorted(s))))
    found.sort(key=lambda f: f[:2])
    runs: list[list[int]] = []
    end = None  # where the last parameter's segments end: (data buffer, offset, grad buffer, offset, keys)
    for _, _, i, (db, do), (gb, go), keys in found:
        if end is not None and end[0] is db and end[1] == do and end[2] is gb and end[3:] == (go, keys):
            runs[-1].append(i)
        else:
            runs.append([i])
        end = (db, do + params[i].size, gb, go + params[i].size, keys)
    return [run for run in runs if len(run) > 1]


class FlatGroup:
    """A run of parameters: flat views of their data and gradients, flat arrays of their state."""

    def __init__(self, params: list[Parameter], states: list[dict[str, Any]]) -> None:
        self.params, self.states = params, states
        first, last = params[0], params[-1]
        (data, start), (grad, gstart) = _segment(first.data), _segment(first.grad)
        stop = _segment(last.data)[1] + last.size
        self.data = data[start:stop]  # views: the parameters' own memory
        self.grad = grad[gstart : gstart + stop - start]
        bounds = np.cumsum([0] + [p.size for p in params]).tolist()
        self._segments = [(a, b, p.shape) for a, b, p in zip(bounds[:-1], bounds[1:], params, strict=True)]
        self.state = {key: self._gather([s[key] for s in states]) for key in states[0]}
        self._published = 0
        self.publish_state()

    def _gather(self, arrays: list[np.ndarray]) -> np.ndarray:
        flat = np.empty(self.data.size, dtype=self.data.dtype)
        for (a, b, _), arr in zip(self._segments, arrays, strict=True):
            flat[a:b] = arr.reshape(-1)
        return flat

    def update(self) -> Update:
        return self.data, self.grad, self.state

    def publish_state(self) -> None:
        """Give each parameter's state dict views of the state arrays the last update created."""
        if len(self.state) == self._published:
            return
        for key, flat in self.state.items():
            for s, (a, b, shape) in zip(self.states, self._segments, strict=True):
                s[key] = flat[a:b].reshape(shape)
        self._published = len(self.state)


class UpdatePlan:
    """What an optimizer's step iterates over: flat runs of small parameters, then the rest."""

    def __init__(
        self, params: list[Parameter], states: list[dict[str, Any]], group_of: list[int] | None = None
    ) -> None:
        self.params, self.states = params, states
        self.group_of = [0] * len(params) if group_of is None else list(group_of)
        self.builds = 0
        self._build()

    def _build(self) -> None:
        self.builds += 1
        self._seen = Parameter.rebinds
        self._arrays = (list(map(_data, self.params)), list(map(_grad, self.params)))
        params, states, group_of = self.params, self.states, self.group_of
        runs = _runs(params, states, group_of)
        self.groups = [FlatGroup([params[i] for i in run], [states[i] for i in run]) for run in runs]
        in_group = {i for run in runs for i in run}
        self.single = [i for i in range(len(params)) if i not in in_group]
        by_group: list[list[Update]] = [[] for _ in range(max(group_of, default=-1) + 1)]
        for run, group in zip(runs, self.groups, strict=True):
            by_group[group_of[run[0]]].append(group.update())
        for i in self.single:
            by_group[group_of[i]].append((params[i].data, params[i].grad, states[i]))
        self._by_group = by_group
        self._updates = [u for updates in by_group for u in updates]
        self._grads = [g for _, g, _ in self._updates]  # what zero_grad fills

    def _check(self) -> None:
        """Find the runs again if some parameter of the plan was given a new array."""
        now = Parameter.rebinds
        if now == self._seen:
            return
        datas, grads = self._arrays
        if all(map(is_, map(_data, self.params), datas)) and all(map(is_, map(_grad, self.params), grads)):
            self._seen = now  # another parameter's: this plan still holds
        else:
            self._build()

    def updates(self) -> list[Update]:
        """The (θ, g, state) triples of this step (the same ones while the plan holds)."""
        self._check()
        return self._updates

    def group_updates(self) -> list[list[Update]]:
        """The triples of this step, one list per parameter group."""
        self._check()
        return self._by_group

    def zero_grad(self) -> None:
        """Fill every gradient with zeros: one fill per run, then one per other parameter."""
        self._check()
        for grad in self._grads:
            grad.fill(0)

    def publish_state(self) -> None:
        for group in self.groups:
            group.publish_state()

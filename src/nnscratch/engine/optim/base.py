"""The optimizers' base class: parameter groups, per-parameter state, state dicts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from nnscratch.base.errors import DTypeError, HyperparameterError, StateDictError, StateError
from nnscratch.base.validation import check_positive

from ..module import Module
from ..parameter import Parameter
from .flat import Update, UpdatePlan
from .groups import GroupValue, ParamGroup, hyperparameters_of, make_group, raw_groups


class Optimizer:
    """Base class. Holds the parameter groups, the per-parameter state and the step count.

    ``params`` is an iterable of Parameters (or a Module), or a list of parameter-group dicts
    ``[{"params": ..., "weight_decay": 0.0}, ...]`` whose keys override the constructor's
    hyperparameters for that group, as in ``torch.optim`` (see :mod:`.groups`).

    Attributes
    ----------
    param_groups : list of dict
        One dict per group: ``"params"`` (its Parameters) and every hyperparameter. ``step()``
        reads the values here, so ``param_groups[i]["lr"] = 0.01`` sets that group's rate.
    defaults : dict
        The constructor's hyperparameters.
    params : list of Parameter
        Every group's parameters, group after group; ``state[i]`` is ``params[i]``'s state.
    lr (and each other hyperparameter, e.g. ``momentum``, ``weight_decay``)
        The first group's value; assigning sets it in every group (see :class:`.GroupValue`).

    ``step()`` iterates over :meth:`_group_updates`: per group, small parameters that lie side by
    side in memory come as one flat (θ, g, state) triple, updated together (see :mod:`.flat`),
    the others one by one. Either way each parameter's ``data`` and ``grad`` are updated in place.
    """

    _state_keys: tuple[str, ...] = ()
    #: Whether the update depends on the step count (Adam's bias correction): groups are then
    #: added before the first step only, as all of them share the count.
    _counts_steps = False
    lr = GroupValue()

    def __init__(self, params: Iterable[Any] | Module, lr: float, **defaults: Any) -> None:
        self.defaults = self.check_hyperparameters({"lr": lr, **defaults})
        self.param_groups: list[ParamGroup] = []
        self.params: list[Parameter] = []
        self.state: list[dict[str, Any]] = []
        self._group_of: list[int] = []  # the group of each of params
        self._scratch: dict[np.dtype, np.ndarray] = {}  # reusable temporaries of the updates
        self._plan: UpdatePlan | None = None  # built on first use
        self.step_count = 0
        groups, given_as_dicts = raw_groups(params)
        for group in groups:
            self._add_group(group, given_as_dicts)

    @classmethod
    def check_hyperparameters(cls, hyper: dict[str, Any]) -> dict[str, Any]:
        """One group's hyperparameters, checked and normalised (HyperparameterError if invalid)."""
        return {**hyper, "lr": check_positive(hyper["lr"], "lr", allow_zero=True)}

    @classmethod
    def state_keys(cls, hyper: Mapping[str, Any]) -> tuple[frozenset[str], frozenset[str]] | None:
        """The state entries a parameter's non-empty state needs under the hyperparameters ``hyper``,
        and those it may hold; None when the optimizer does not say (any entries are loaded)."""
        return None

    @classmethod
    def check_state_keys(cls, hyper: Mapping[str, Any], keys: Iterable[str], where: str) -> None:
        """Refuse (StateDictError) state entries a step could not use: a missing moment, an extra array."""
        spec = cls.state_keys(hyper)
        keys = set(keys)
        if spec is None or not keys:
            return
        required, allowed = spec
        if not required <= keys <= allowed:
            raise StateDictError(
                f"{where} holds state {sorted(keys)}; {cls.__name__} with {dict(hyper)} needs "
                f"{sorted(required)} (and may hold {sorted(allowed - required)})"
            )

    @classmethod
    def subclass_named(cls, name: str) -> type[Optimizer] | None:
        """The optimizer class of that name among those defined so far (nnscratch's and the user's)."""
        pending = [cls]
        while pending:
            klass = pending.pop()
            if klass.__name__ == name:
                return klass
            pending.extend(klass.__subclasses__())
        return None

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group ``{"params": [...], **overrides}``, as ``torch.optim``'s ``add_param_group``
        (for instance the layers unfrozen while fine-tuning); its parameters start with no state."""
        if not isinstance(param_group, Mapping):
            raise DTypeError(
                "param_group must be a dict {'params': [...], ...options}. "
                f"Received: {type(param_group).__name__}"
            )
        if self._counts_steps and self.step_count:
            raise StateError(
                f"{type(self).__name__} counts steps for all its groups together (bias correction): "
                f"add groups before the first step. Received: add_param_group after {self.step_count} steps"
            )
        self._add_group(param_group, True)

    def _add_group(self, raw: Mapping[str, Any], given_as_dict: bool) -> None:
        taken = {id(p): i for i, g in enumerate(self.param_groups) for p in g["params"]}
        index = len(self.param_groups)
        group = make_group(
            raw, index, self.defaults, self.check_hyperparameters, taken, type(self).__name__, given_as_dict
        )
        self.param_groups.append(group)
        self.params.extend(group["params"])
        self.state.extend({} for _ in group["params"])
        self._group_of.extend(index for _ in group["params"])
        self._plan = None  # the next step finds the flat runs afresh

    def _get_plan(self) -> UpdatePlan:
        if self._plan is None:
            self._plan = UpdatePlan(self.params, self.state, self._group_of)
        return self._plan

    def _updates(self) -> list[Update]:
        """The (θ, g, state) triples one step updates, in place."""
        return (self._plan or self._get_plan()).updates()

    def _group_updates(self) -> Iterator[tuple[ParamGroup, list[Update]]]:
        """Each group with the (θ, g, state) triples of its parameters."""
        return zip(self.param_groups, (self._plan or self._get_plan()).group_updates(), strict=True)

    def _publish_state(self) -> None:
        """After a step: state arrays it created for a flat run reach each parameter's entry."""
        if self._plan is not None:
            self._plan.publish_state()

    def zero_grad(self) -> None:
        """Fill every parameter's gradient with zeros (one fill per flat run of small parameters)."""
        (self._plan or self._get_plan()).zero_grad()

    def step(self) -> None:
        raise NotImplementedError

    def hyperparameters(self) -> dict[str, Any]:
        """The first group's hyperparameters (all of them, with one group)."""
        return hyperparameters_of(self.param_groups[0])

    def state_dict(self) -> dict[str, Any]:
        """Hyperparameters, the step count, copies of every state array (for checkpoints) and the
        groups, as ``{"params": [indices into params], **hyperparameters}``."""
        return {
            "type": type(self).__name__,
            "hyperparameters": self.hyperparameters(),
            "step_count": self.step_count,
            "state": [{k: np.array(v, copy=True) for k, v in s.items()} for s in self.state],
            "param_groups": [
                {**hyperparameters_of(g), "params": indices}
                for g, indices in zip(self.param_groups, self._group_indices(), strict=True)
            ],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Load what :meth:`state_dict` returned, for the same parameters in the same groups.

        A state dict without ``"param_groups"`` (from before parameter groups) is one group with
        its ``"hyperparameters"``. All or nothing: a refused state (StateDictError) changes nothing.
        """
        if not isinstance(state, dict):
            raise StateDictError(
                "optimizer state must be the dict returned by optimizer.state_dict(). "
                f"Received: {type(state).__name__}"
            )
        if state.get("type") != type(self).__name__:
            raise StateDictError(
                f"optimizer state is for {state.get('type')!r}, cannot load it into {type(self).__name__}"
            )
        hypers = self._loaded_groups(state)
        entries = state.get("state", [])
        if len(entries) != len(self.params):
            raise StateDictError(
                f"optimizer state has {len(entries)} parameter entries, expected {len(self.params)}"
            )
        for i, (p, entry) in enumerate(zip(self.params, entries, strict=True)):
            if not isinstance(entry, Mapping):
                raise StateDictError(f"optimizer state of parameter {i} must be a dict of arrays")
            self.check_state_keys(hypers[self._group_of[i]], entry, f"optimizer state of parameter {i}")
            for key, value in entry.items():
                value = np.asarray(value)
                if value.shape != p.shape or value.dtype.kind != "f":
                    raise StateDictError(
                        f"optimizer state {key!r} of parameter {i} has shape {value.shape} and dtype "
                        f"{value.dtype}, expected floats of shape {p.shape}"
                    )
        self.state = [
            {k: np.array(v, dtype=p.dtype, copy=True) for k, v in e.items()}
            for p, e in zip(self.params, entries, strict=True)
        ]
        self._plan = None  # the next step groups the loaded arrays afresh
        for group, hyper in zip(self.param_groups, hypers, strict=True):
            group.update(hyper)
        self.step_count = int(state.get("step_count", 0))

    def _group_indices(self) -> list[list[int]]:
        """The positions in ``params`` of each group's parameters."""
        out: list[list[int]] = [[] for _ in self.param_groups]
        for i, group in enumerate(self._group_of):
            out[group].append(i)
        return out

    def _loaded_groups(self, state: dict[str, Any]) -> list[dict[str, Any]]:
        """The hyperparameters of each group in ``state``, checked against this optimizer's groups."""
        saved = state.get("param_groups")
        if saved is None:  # a state dict from before parameter groups: one group
            saved = [{**state.get("hyperparameters", {}), "params": list(range(len(self.params)))}]
        if not isinstance(saved, list):
            raise StateDictError(f"optimizer state's param_groups must be a list. Received: {saved!r:.80}")
        if len(saved) != len(self.param_groups):
            raise StateDictError(
                f"optimizer state has {len(saved)} parameter groups, expected {len(self.param_groups)} "
                "(load a state into an optimizer built with the same groups)"
            )
        out = []
        for i, (group, entry, expected) in enumerate(
            zip(self.param_groups, saved, self._group_indices(), strict=True)
        ):
            if not isinstance(entry, dict) or list(entry.get("params", ())) != expected:
                raise StateDictError(
                    f"optimizer state's param_groups[{i}] does not hold the parameters {expected} of "
                    "this optimizer's group (load a state into an optimizer built with the same groups)"
                )
            unknown = sorted(set(entry) - set(self.defaults) - {"params"})
            if unknown:
                raise StateDictError(
                    f"optimizer state's param_groups[{i}] has hyperparameters {type(self).__name__} "
                    f"does not take: {unknown}"
                )
            try:
                hyper = self.check_hyperparameters({**hyperparameters_of(group), **hyperparameters_of(entry)})
            except HyperparameterError as exc:
                raise StateDictError(f"optimizer state's param_groups[{i}]: {exc}") from None
            out.append(hyper)
        return out

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.defaults.items())
        if len(self.param_groups) > 1:  # each group's values that differ from the defaults
            groups = [
                "{"
                + ", ".join(f"{k}={v}" for k, v in hyperparameters_of(g).items() if v != self.defaults[k])
                + "}"
                for g in self.param_groups
            ]
            args += f", param_groups=[{', '.join(groups)}]"
        return f"{type(self).__name__}({args})"


__all__ = ["Optimizer"]

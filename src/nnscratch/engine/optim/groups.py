"""Parameter groups, as in ``torch.optim``: one optimizer, several lists of parameters, each list
with its own hyperparameters (a learning rate per layer, no weight decay on the biases...).

An optimizer's ``params`` is either an iterable of Parameters (or a Module) — one group, with the
constructor's hyperparameters — or a list of dicts, one per group: ``"params"`` holds the group's
parameters and any other key overrides the constructor's value of that hyperparameter::

    ns.SGD(
        [{"params": weights}, {"params": biases, "weight_decay": 0.0}],
        lr=0.1, momentum=0.9, weight_decay=1e-4,
    )

The optimizer keeps them in ``optimizer.param_groups``, a list of dicts such as
``{"params": [...], "lr": 0.1, "momentum": 0.9, "weight_decay": 0.0, ...}`` that holds every
hyperparameter of the group (its own or the constructor's); ``step()`` reads them there, so
changing ``param_groups[i]["lr"]`` changes that group's learning rate, as in PyTorch.

As in PyTorch, a parameter may be in one group only. Unlike PyTorch, a group without parameters
and a key the optimizer does not take (a misspelt ``"weight_decya"``) are errors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from nnscratch.base.errors import DTypeError, HyperparameterError

from ..module import Module
from ..parameter import Parameter

ParamGroup = dict[str, Any]
#: Checks one group's hyperparameters and returns them normalised (raises HyperparameterError).
Checker = Callable[[dict[str, Any]], dict[str, Any]]


def as_param_list(params: Any, where: str = "params") -> list[Parameter]:
    """The Parameters of ``params`` (an iterable of Parameters, one Parameter or a Module), as a
    list; ``where`` names the argument in error messages."""
    if isinstance(params, Module):
        params = params.parameters()
    elif isinstance(params, Parameter):
        params = [params]
    try:
        plist = list(params)
    except TypeError as exc:
        raise DTypeError(
            f"{where} must be an iterable of Parameters (e.g. model.parameters()). Received: {params!r}"
        ) from exc
    for i, p in enumerate(plist):
        if not isinstance(p, Parameter):
            raise DTypeError(
                f"{where}[{i}] is {type(p).__name__}, expected a Parameter (use model.parameters())."
            )
    return plist


def raw_groups(params: Iterable[Any] | Module) -> tuple[list[Mapping[str, Any]], bool]:
    """``params`` as a list of group dicts (an iterable of Parameters is the one group
    ``[{"params": ...}]``), and whether it was given as dicts."""
    if isinstance(params, (Module, Parameter)):
        return [{"params": params}], False
    try:
        items = list(params)
    except TypeError as exc:
        raise DTypeError(
            "params must be an iterable of Parameters (e.g. model.parameters()) or a list of "
            f"parameter-group dicts [{{'params': ..., 'lr': ...}}, ...]. Received: {params!r}"
        ) from exc
    if not items:
        raise HyperparameterError("the optimizer got an empty parameter list: nothing to train.")
    if not isinstance(items[0], Mapping):
        return [{"params": items}], False
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise DTypeError(
                f"params[{i}] is {type(item).__name__}, but params[0] is a parameter group (a dict): "
                "give either Parameters or parameter-group dicts {'params': [...], 'lr': ...}, not both."
            )
    return items, True


def make_group(
    raw: Mapping[str, Any],
    index: int,
    defaults: Mapping[str, Any],
    check: Checker,
    taken: Mapping[int, int],
    optimizer: str,
    given_as_dict: bool = True,
) -> ParamGroup:
    """Group number ``index``: its parameters, and the constructor's ``defaults`` overridden by the
    group's own values, all checked by ``check``. ``taken`` maps ``id(parameter)`` to the group
    already holding it (a parameter may be in one group only). ``given_as_dict=False``: the
    optimizer's plain ``params`` list, named so in error messages."""
    where = f"param_groups[{index}]"
    if "params" not in raw:
        raise HyperparameterError(
            f"{where} has no 'params' entry: each group is a dict {{'params': [...], ...options}}. "
            f"Received keys: {sorted(map(str, raw))}"
        )
    unknown = [k for k in raw if k != "params" and k not in defaults]
    if unknown:
        raise HyperparameterError(
            f"{where} has an option {optimizer} does not take: {', '.join(map(repr, unknown))} (it takes "
            f"{', '.join(defaults)}). Received: " + ", ".join(f"{k}={raw[k]!r}" for k in unknown)
        )
    plist = as_param_list(raw["params"], f"{where}['params']" if given_as_dict else "params")
    if not plist:
        if not given_as_dict:
            raise HyperparameterError("the optimizer got an empty parameter list: nothing to train.")
        raise HyperparameterError(f"{where} has no parameters: each group needs at least one.")
    for i, p in enumerate(plist):
        if id(p) in taken:
            raise HyperparameterError(
                f"a parameter is in more than one parameter group: {where}['params'][{i}] is already "
                f"in param_groups[{taken[id(p)]}]. Expected each parameter in exactly one group."
            )
    if not given_as_dict:  # the constructor's values (checked by the constructor)
        return {"params": plist, **defaults}
    try:
        hyper = check({k: raw.get(k, v) for k, v in defaults.items()})
    except HyperparameterError as exc:
        raise type(exc)(f"{where}: {exc}") from None
    return {"params": plist, **hyper}


def hyperparameters_of(group: Mapping[str, Any]) -> dict[str, Any]:
    """A group's hyperparameters: everything but its ``"params"``."""
    return {k: v for k, v in group.items() if k != "params"}


class GroupValue:
    """An optimizer attribute standing for a hyperparameter of its groups (``optimizer.lr``).

    Reading gives the first group's value (``optimizer.param_groups[0]["lr"]``); assigning sets
    it in every group. With one group — an optimizer built on a plain list of parameters — this
    is an ordinary attribute; with several, read and write ``param_groups`` for one group's.
    """

    name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, optimizer: Any, owner: type | None = None) -> Any:
        if optimizer is None:
            return self
        return optimizer.param_groups[0][self.name]

    def __set__(self, optimizer: Any, value: Any) -> None:
        for group in optimizer.param_groups:
            group[self.name] = value


__all__ = ["GroupValue", "ParamGroup", "as_param_list", "hyperparameters_of", "make_group", "raw_groups"]

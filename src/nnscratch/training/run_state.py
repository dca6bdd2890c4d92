"""Training state to and from checkpoint files: optimizer, scheduler and random generators.

Everything read back from a file is checked before it touches the run: optimizer arrays against
the parameters they belong to, hyperparameters against the optimizer's own names (a file cannot
set arbitrary attributes), generator states through NumPy's validating setter.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from nnscratch.base.errors import DTypeError, HyperparameterError, ModelFileError, StateDictError
from nnscratch.engine.module import Module
from nnscratch.engine.optim.optimizers import Optimizer
from nnscratch.engine.optim.schedulers import LRScheduler

BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
MAX_EPOCH = 10**9  # no run has more epochs than this: a larger number is a corrupt or edited file
MAX_STEPS = 2**53  # step counts stay exact as floats (Adam's bias correction computes beta**t)
STATE_DTYPES = (np.dtype("float32"), np.dtype("float64"))  # native byte order


def generator_state(gen: Any) -> dict[str, Any]:
    if not isinstance(gen, np.random.Generator):
        raise DTypeError(f"state.rng must be a numpy.random.Generator. Received: {gen!r:.80}")
    state = gen.bit_generator.state
    if state.get("bit_generator") not in BIT_GENERATORS:
        raise DTypeError(
            f"cannot checkpoint a {state.get('bit_generator')} generator; use one of {BIT_GENERATORS}"
        )
    return state


def module_generators(model: Module, prefix: str = "") -> Iterator[tuple[str, np.random.Generator]]:
    """Generators held by layers (e.g. a dropout mask stream), keyed ``"<layer path>.<attribute>"``."""
    for attr, value in vars(model).items():
        if isinstance(value, np.random.Generator):
            yield prefix + attr, value
    for name, child in model.named_children():
        yield from module_generators(child, f"{prefix}{name}.")


def read_optimizer(
    c: Any, specs: dict[str, Any], header: Any, model: Module, src: str
) -> dict[str, Any] | None:
    if header is None:
        if specs:
            raise ModelFileError(f"{src}: optimizer arrays without an optimizer header.")
        return None
    fields = {"type", "hyperparameters", "step_count", "params", "state_keys", "param_groups"}
    # "param_groups" is absent from checkpoints written before parameter groups
    if not isinstance(header, dict) or set(header) not in (fields, fields - {"param_groups"}):
        raise ModelFileError(f"{src}: the optimizer header must have exactly the fields {sorted(fields)}.")
    params = dict(model.named_parameters())
    names, keys, step = header["params"], header["state_keys"], header["step_count"]
    if (
        not isinstance(header["type"], str)
        or not isinstance(header["hyperparameters"], dict)
        or isinstance(step, bool)
        or not isinstance(step, int)
        or step < 0
        or not isinstance(names, list)
        or not all(isinstance(n, str) and n in params for n in names)
        or len(set(names)) != len(names)
        or not isinstance(keys, dict)
        or set(keys) != set(names)
        or not all(isinstance(k, list) and all(isinstance(s, str) for s in k) for k in keys.values())
        or not _groups_well_formed(header.get("param_groups", [{"params": names}]), names)
    ):
        raise ModelFileError(f"{src}: the optimizer header is malformed.")
    if step > MAX_STEPS:
        raise ModelFileError(f"{src}: optimizer step_count must be at most {MAX_STEPS}. Received: {step}")
    check_optimizer_hyperparameters(header, names, src)
    expected = {f"optimizer/{n}/{k}": params[n] for n in names for k in keys[n]}
    if set(expected) != set(specs):
        raise ModelFileError(
            f"{src}: optimizer arrays do not match the header: missing {sorted(set(expected) - set(specs))}, "
            f"unexpected {sorted(set(specs) - set(expected))}."
        )
    for key, p in expected.items():
        spec = specs[key]
        if spec.shape != p.shape or spec.dtype != p.dtype or spec.dtype not in STATE_DTYPES:
            raise ModelFileError(
                f"{src}: optimizer array {key!r} has shape {spec.shape} and dtype {spec.dtype.str}; "
                f"expected the parameter's shape {p.shape} and dtype {p.dtype.str} (float32 or "
                "float64, native byte order)."
            )
    states = {n: {k: c.read(f"optimizer/{n}/{k}") for k in keys[n]} for n in names}
    for n, entry in states.items():
        for k, arr in entry.items():
            if not np.isfinite(arr).all():
                raise ModelFileError(f"{src}: optimizer state {n}/{k} holds NaN or infinite values.")
    return {**header, "by_name": states}


def check_optimizer_hyperparameters(header: dict[str, Any], names: list[str], src: str) -> dict[str, Any]:
    """Each parameter's hyperparameters (its group's over the first group's), checked as the
    optimizer's constructor checks them, with JSON types matching its defaults. For an optimizer
    class not defined in this process only plain numbers are checked (restoring checks the rest)."""
    cls = Optimizer.subclass_named(header["type"])
    top = header["hyperparameters"]
    groups = header.get("param_groups", [{**top, "params": names}])
    _check_hyper_dict(cls, top, src, "optimizer hyperparameters")
    by_name = {}
    for i, group in enumerate(groups):
        own = {k: v for k, v in group.items() if k != "params"}
        hyper = _check_hyper_dict(cls, {**top, **own}, src, f"optimizer param_groups[{i}]")
        by_name.update({n: hyper for n in group["params"]})
    for n in names:
        if cls is not None:
            try:
                cls.check_state_keys(by_name[n], header["state_keys"][n], f"optimizer state of {n!r}")
            except StateDictError as exc:
                raise ModelFileError(f"{src}: {exc}.") from None
    return by_name


def _check_hyper_dict(
    cls: type[Optimizer] | None, values: dict[str, Any], src: str, where: str
) -> dict[str, Any]:
    if cls is None:
        bad = {k: v for k, v in values.items() if not is_number_or_numbers(v)}
        if bad:
            raise ModelFileError(f"{src}: {where} must hold numbers. Received: {bad!r:.80}")
        return values
    defaults = {
        name: p.default
        for name, p in list(inspect.signature(cls.__init__).parameters.items())[2:]
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
    for key, value in values.items():
        if key not in defaults:
            raise ModelFileError(
                f"{src}: {where} has {key!r:.40}, which {cls.__name__} does not take (it takes "
                f"{', '.join(defaults)})."
            )
        expected = _json_kind(defaults[key])
        if expected is not None and not _is_kind(value, expected):
            raise ModelFileError(
                f"{src}: {where} {key!r} must be {expected} (as {cls.__name__}'s default "
                f"{defaults[key]!r}). Received: {key}={value!r:.60}"
            )
    merged = {k: v for k, v in defaults.items() if v is not inspect.Parameter.empty}
    merged.update({k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
    try:
        return cls.check_hyperparameters(merged)
    except HyperparameterError as exc:
        raise ModelFileError(f"{src}: {where}: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:  # a check written for a missing value
        raise ModelFileError(f"{src}: {where} cannot be checked ({type(exc).__name__}: {exc}).") from None


def _json_kind(default: Any) -> str | None:
    """What a saved value must be, judged by the constructor's default."""
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, (int, float)):
        return "a finite number"
    if isinstance(default, tuple) and all(isinstance(v, (int, float)) for v in default):
        return f"a list of {len(default)} finite numbers"
    return None


def _is_kind(value: Any, kind: str) -> bool:
    def number(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

    if kind == "true or false":
        return isinstance(value, bool)
    if kind == "a finite number":
        return number(value)
    size = int(kind.split()[3])
    return isinstance(value, list) and len(value) == size and all(number(v) for v in value)


def check_scheduler_state(saved: Any, src: str) -> None:
    """A scheduler's saved state: its type's name, one starting rate per group, the epoch."""
    if saved is None:
        return
    if not isinstance(saved, dict) or not isinstance(saved.get("type"), str):
        raise ModelFileError(f"{src}: 'scheduler' must be an object with a string 'type' or null.")
    rates = saved.get("base_lrs", [saved.get("base_lr")])
    epoch = saved.get("last_epoch")
    if (
        not isinstance(rates, list)
        or not rates
        or not is_number_or_numbers(rates, 4096)
        or any(isinstance(r, bool) or r < 0 for r in rates)
    ):
        raise ModelFileError(
            f"{src}: scheduler base_lrs must be a list of finite numbers >= 0. Received: {rates!r:.60}"
        )
    if isinstance(epoch, bool) or not isinstance(epoch, int) or not 0 <= epoch <= MAX_EPOCH:
        raise ModelFileError(
            f"{src}: scheduler last_epoch must be an integer in [0, {MAX_EPOCH}]. Received: {epoch!r:.40}"
        )
    if not all(k == "type" or is_number_or_numbers(v, 4096) for k, v in saved.items()):
        raise ModelFileError(f"{src}: scheduler state must hold numbers only.")


def _groups_well_formed(groups: Any, names: list[str]) -> bool:
    """Whether ``groups`` is a list of dicts whose ``"params"`` lists share out ``names``."""
    if not isinstance(groups, list) or not groups or not all(isinstance(g, dict) for g in groups):
        return False
    listed = [g.get("params") for g in groups]
    if not all(isinstance(p, list) and p and all(isinstance(n, str) for n in p) for p in listed):
        return False
    flat = [n for p in listed for n in p]
    return len(flat) == len(names) and set(flat) == set(names)


def restore_optimizer(opt: Optimizer, model: Module, saved: dict[str, Any], src: str) -> None:
    if saved["type"] != type(opt).__name__:
        raise ModelFileError(
            f"{src} holds {saved['type']} state; the run's optimizer is {type(opt).__name__}."
        )
    names = {id(p): name for name, p in model.named_parameters()}
    order = [names.get(id(p)) for p in opt.params]
    if None in order or sorted(order) != sorted(saved["params"]):
        raise ModelFileError(
            f"{src}: the optimizer's parameters do not match the checkpoint's {saved['params']}."
        )
    saved_groups = saved.get("param_groups", [{**saved["hyperparameters"], "params": saved["params"]}])
    mine = [sorted(names[id(p)] for p in g["params"]) for g in opt.param_groups]
    if [sorted(g["params"]) for g in saved_groups] != mine:
        raise ModelFileError(
            f"{src}: the optimizer's parameter groups {mine} do not match the checkpoint's "
            f"{[g['params'] for g in saved_groups]}."
        )
    hyper = _hyperparameters(opt, saved["hyperparameters"], src)
    groups, start = [], 0
    for g in saved_groups:
        own = _hyperparameters(opt, {k: v for k, v in g.items() if k != "params"}, src)
        groups.append({**own, "params": list(range(start, start + len(g["params"])))})
        start += len(g["params"])
    try:
        opt.load_state_dict(
            {
                "type": saved["type"],
                "hyperparameters": hyper,
                "step_count": saved["step_count"],
                "state": [saved["by_name"][name] for name in order],
                "param_groups": groups,
            }
        )
    except StateDictError as exc:
        raise ModelFileError(f"{src}: {exc}") from exc


def _hyperparameters(opt: Optimizer, saved: dict[str, Any], src: str) -> dict[str, Any]:
    """Saved hyperparameters, checked to be ``opt``'s own and numbers."""
    allowed = opt.defaults
    hyper = {}
    for key, value in saved.items():
        if key not in allowed or not is_number_or_numbers(value):
            raise ModelFileError(f"{src}: unexpected optimizer hyperparameter {key!r:.40}={value!r:.40}.")
        hyper[key] = tuple(value) if isinstance(value, list) else value
    return hyper


def is_number_or_numbers(value: Any, most: int = 16) -> bool:
    """A finite number, or a list of at most ``most`` of them."""

    def number(v: Any) -> bool:
        return isinstance(v, (int, float)) and (isinstance(v, bool) or math.isfinite(v))

    return number(value) or (isinstance(value, list) and len(value) <= most and all(number(v) for v in value))


def restore_scheduler(scheduler: LRScheduler, saved: dict[str, Any], src: str) -> None:
    if saved.get("type") != type(scheduler).__name__:
        raise ModelFileError(
            f"{src} holds {saved.get('type')!r:.40} scheduler state; the run uses {type(scheduler).__name__}."
        )
    most = {"base_lrs": 4096}  # one per parameter group
    if not all(k == "type" or is_number_or_numbers(v, most.get(k, 16)) for k, v in saved.items()):
        raise ModelFileError(f"{src}: scheduler state must hold numbers only.")
    try:
        scheduler.load_state_dict(saved)
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise ModelFileError(f"{src}: cannot restore the scheduler ({exc}).") from exc


def restore_generator(gen: np.random.Generator | None, saved: dict[str, Any], src: str, what: str) -> None:
    """Set ``gen``'s bit generator state in place (``gen=None``: only check that it is valid)."""
    kind = saved.get("bit_generator")
    if kind not in BIT_GENERATORS:
        raise ModelFileError(f"{src}: {what} has an unknown bit generator {kind!r:.40}.")
    if gen is None:
        gen = np.random.Generator(getattr(np.random, kind)())
    elif type(gen.bit_generator).__name__ != kind:
        raise ModelFileError(
            f"{src}: {what} was a {kind}; the run's is a {type(gen.bit_generator).__name__}."
        )
    try:
        gen.bit_generator.state = saved
    except (KeyError, TypeError, ValueError, OverflowError, IndexError) as exc:
        raise ModelFileError(f"{src}: {what}'s saved state is invalid ({exc}).") from exc

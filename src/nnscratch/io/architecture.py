"""Architectures as JSON: each layer's type and constructor arguments, and back.

Serialisation is generic: a layer's ``__init__`` signature names its arguments and the layer
keeps each one as a same-named attribute (``Linear.in_features``...). A class whose attributes
do not mirror its arguments defines ``_config(self) -> dict`` (the keyword arguments to rebuild
it) and optionally ``_from_config(cls, args) -> layer``.

Loading only ever instantiates classes of an allowlist — the layers exported by
:mod:`nnscratch.engine.layers`, plus any registered with :func:`register_layer` — with JSON values,
after bounding every integer argument by the sizes of the arrays actually in the file (so a
hostile header cannot make ``Linear(10**6, 10**6)`` allocate terabytes).
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnscratch.base.errors import ModelFileError, UnknownNameError
from nnscratch.engine import names as _registry
from nnscratch.engine.layers import activations
from nnscratch.engine.layers.activations import Activation
from nnscratch.engine.module import Module
from nnscratch.engine.names import layer_type, layer_types
from nnscratch.io.expression import compile_expression, expression_from_json, expression_to_json

_SKIPPED_ARGS = frozenset({"rng", "seed", "generator", "init", "initializer"})
_DTYPES = ("float32", "float64", "float16", "int32", "int64", "uint8", "bool")
_MAX_DEPTH = 64
_INT_FLOOR = 1024  # integer arguments may always be this large, whatever the file's arrays
_PRODUCT_FLOOR = 2**20


# -- module -> JSON --------------------------------------------------------------------------------
def module_dtype(module: Module) -> np.dtype | None:
    """The parameters' dtype, else the first floating buffer's, else None."""
    if module.dtype is not None:
        return module.dtype
    for _, buf in module.named_buffers():
        if isinstance(buf, np.ndarray) and buf.dtype.kind == "f":
            return buf.dtype
    return None


def activation_names(model: Module) -> list[str]:
    """Names of the activation layers in order (``"tanh"``, ``"sigmoid"``, a custom name...)."""
    names = []
    for m in model.modules():
        if isinstance(m, Activation):
            names.append(m.name)
        elif type(m).__module__ == activations.__name__:
            names.append(type(m).__name__.lower())
    return names


def to_config(module: Module, path: str = "model") -> dict[str, Any]:
    """The JSON node ``{"type": ..., "args": {...}}`` (plus ``"varargs"``) describing ``module``."""
    if isinstance(module, Activation) and (
        type(module) is Activation or getattr(module, "expression", None) is not None
    ):
        return _activation_config(module, path)
    cls = type(module)
    if layer_types().get(cls.__name__) is not cls:
        raise ModelFileError(
            f"cannot save {path}: {cls.__qualname__} is not a layer type nnscratch can rebuild safely. "
            "Model files hold nnscratch's exported layers; for your own class call "
            f"nnscratch.io.register_layer({cls.__name__}) (when saving and when loading)."
        )
    custom = getattr(module, "_config", None)
    if callable(custom):
        args, varargs = dict(custom()), []
    else:
        args, varargs = _introspect(module, path)
    node: dict[str, Any] = {
        "type": cls.__name__,
        "args": {k: _encode(v, f"{path}.{k}") for k, v in args.items()},
    }
    if varargs:
        node["varargs"] = [_encode(v, f"{path}[{i}]") for i, v in enumerate(varargs)]
    return node


def _introspect(module: Module, path: str) -> tuple[dict[str, Any], list[Any]]:
    cls = type(module)
    args: dict[str, Any] = {}
    varargs: list[Any] = []
    for name, p in list(inspect.signature(cls.__init__).parameters.items())[1:]:
        if p.kind is p.VAR_KEYWORD or name in _SKIPPED_ARGS or name.endswith("_init"):
            continue  # initialisers only choose starting values, which the file replaces
        if name == "dtype":
            dt = module_dtype(module)
            if dt is not None:
                args["dtype"] = dt
            continue
        if not hasattr(module, name) or p.kind is p.POSITIONAL_ONLY:
            raise ModelFileError(
                f"cannot save {path}: {cls.__name__}.__init__ takes {name!r} but the layer does not "
                f"keep it as self.{name}. Store it under that name, or give {cls.__name__} a "
                "_config() method returning its constructor arguments."
            )
        value = getattr(module, name)
        if p.kind is p.VAR_POSITIONAL:
            varargs = list(value)
            continue
        if isinstance(p.default, bool) and not isinstance(value, (bool, np.bool_)):
            value = value is not None  # e.g. Linear(bias=True) keeps a Parameter, or None
        args[name] = value
    return args, varargs


def _encode(value: Any, path: str) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and math.isfinite(value):
        return float(value)
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return {"__dtype__": np.dtype(value).name}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, f"{path}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Module):
        return {"__module__": to_config(value, path)}
    raise ModelFileError(
        f"cannot save {path}={value!r:.60}: a constructor argument must be a finite number, string, "
        "bool, None, tuple/list of those, dtype or layer. Give the class a _config() method."
    )


def _activation_config(act: Activation, path: str) -> dict[str, Any]:
    node: dict[str, Any] = {
        "type": "Activation",
        "args": {"name": act.name, "kinks": [float(k) for k in act.kinks]},
    }
    expression = getattr(act, "expression", None)
    if isinstance(expression, str):  # a formula for Activation.from_expression (safe parser)
        node["function"] = {"formula": expression}
        return node
    if expression is not None:  # a sympy expression: stored as a tree of allowlisted functions
        node["function"] = {"expression": expression_to_json(expression)}
        return node
    entry = _registry.ACTIVATIONS.get(act.name)
    if entry is None or entry.fn is not act.fn or entry.derivative is not act.derivative:
        raise ModelFileError(
            f"cannot save {path}: Activation {act.name!r} is Python code, which model files never "
            f"hold. Register it with nnscratch.register_activation({act.name!r}, fn, derivative) and "
            "build the layer from the same functions (register it again before loading), or build it "
            "with Activation.from_expression(formula)."
        )
    node["function"] = {"registered": act.name}
    return node


# -- JSON -> module --------------------------------------------------------------------------------
@dataclass(frozen=True)
class BuildLimits:
    """Bounds for constructor arguments, derived from the arrays in the file being loaded."""

    max_int: int
    max_product: int

    @classmethod
    def from_shapes(cls, shapes: list[tuple[int, ...]]) -> BuildLimits:
        max_dim = max((max(s) for s in shapes if s), default=0)
        total = sum(math.prod(s) for s in shapes)
        return cls(max(_INT_FLOOR, max_dim), max(_PRODUCT_FLOOR, 16 * total))


def _refuse(path: str, why: str) -> ModelFileError:
    return ModelFileError(f"the architecture is invalid at {path}: {why}")


def from_config(node: Any, limits: BuildLimits, path: str = "model", depth: int = 0) -> Module:
    """Rebuild a module from :func:`to_config`'s node; refuses anything outside the allowlist."""
    if depth > _MAX_DEPTH:
        raise _refuse(path, f"layers are nested more than {_MAX_DEPTH} deep")
    if not isinstance(node, dict) or not isinstance(node.get("type"), str):
        raise _refuse(path, f"expected an object with a string 'type'. Received: {node!r:.100}")
    extra = set(node) - {"type", "args", "varargs", "function"}
    if extra:
        raise _refuse(path, f"unexpected fields {sorted(extra)}")
    name, args, varargs = node["type"], node.get("args", {}), node.get("varargs", [])
    if not isinstance(args, dict) or not isinstance(varargs, list):
        raise _refuse(path, "'args' must be an object and 'varargs' a list")
    if name == "Activation":
        return _build_activation(node, path)
    try:
        cls = layer_type(name)
    except UnknownNameError as exc:  # the names table's message, as for [[model.layers]] in experiments
        raise _refuse(path, str(exc)) from None
    if "function" in node:
        raise _refuse(path, f"{name} takes no 'function' field")
    params = inspect.signature(cls.__init__).parameters
    has_var = any(p.kind is p.VAR_POSITIONAL for p in params.values())
    unknown = [k for k in args if k not in params or params[k].kind in (params[k].VAR_POSITIONAL,)]
    if unknown or (varargs and not has_var):
        raise _refuse(path, f"{name} takes no argument(s) {unknown or ['*varargs']}")
    # arguments a class declares allocation-free (a limit, not a size) need no bound
    free = getattr(cls, "_allocation_free_args", ())
    _check_bounds({k: v for k, v in args.items() if k not in free}, limits, f"{path} ({name})")
    _check_bounds(varargs, limits, f"{path} ({name})")
    kwargs = {k: _decode(v, limits, f"{path}.{k}", depth) for k, v in args.items()}
    positional = [_decode(v, limits, f"{path}[{i}]", depth) for i, v in enumerate(varargs)]
    if "rng" in params and "rng" not in kwargs:
        kwargs["rng"] = 0  # starting values are overwritten by the file: no need for OS entropy
    try:
        factory = getattr(cls, "_from_config", None)
        module = factory(kwargs) if callable(factory) and not positional else cls(*positional, **kwargs)
    except Exception as exc:  # a constructor rejecting file content: report it as a bad file
        raise _refuse(path, f"{name}(...) cannot be built from the stored arguments: {exc}") from exc
    if not isinstance(module, Module):
        raise _refuse(path, f"{name} did not build a layer")
    return module


def _check_bounds(value: Any, limits: BuildLimits, path: str) -> None:
    ints: list[int] = []

    def walk(v: Any, level: int) -> None:
        if level > _MAX_DEPTH:
            raise _refuse(path, "arguments are nested too deeply")
        if isinstance(v, bool):
            return
        if isinstance(v, int):
            if abs(v) > limits.max_int:
                raise _refuse(
                    path,
                    f"integer argument {v} is larger than any array in the file allows "
                    f"(limit {limits.max_int}); refusing to allocate for it",
                )
            ints.append(v)
        elif isinstance(v, list):
            for item in v:
                walk(item, level + 1)
        elif isinstance(v, dict) and "__module__" not in v:
            for item in v.values():
                walk(item, level + 1)

    walk(value, 0)
    if math.prod(v for v in ints if v > 1) > limits.max_product:
        raise _refuse(path, f"its size arguments {ints} would allocate more than the file could fill")


def _decode(value: Any, limits: BuildLimits, path: str, depth: int) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [_decode(v, limits, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
    if isinstance(value, dict) and len(value) == 1:
        ((marker, inner),) = value.items()
        if marker == "__tuple__" and isinstance(inner, list):
            return tuple(_decode(v, limits, f"{path}[{i}]", depth + 1) for i, v in enumerate(inner))
        if marker == "__dtype__" and inner in _DTYPES:
            return np.dtype(inner)
        if marker == "__module__":
            return from_config(inner, limits, path, depth + 1)
    raise _refuse(path, f"unsupported argument value {value!r:.100}")


def _build_activation(node: dict[str, Any], path: str) -> Activation:
    args, function = node.get("args", {}), node.get("function")
    name, kinks = args.get("name"), args.get("kinks", [])
    if set(args) - {"name", "kinks"} or not isinstance(name, str) or not isinstance(kinks, list):
        raise _refuse(path, "an Activation needs args {'name': str, 'kinks': [numbers]}")
    if not all(isinstance(k, (int, float)) and not isinstance(k, bool) for k in kinks):
        raise _refuse(path, "an Activation's kinks must be numbers")
    if not isinstance(function, dict) or len(function) != 1 or node.get("varargs"):
        raise _refuse(path, "an Activation needs 'function': {'registered' | 'formula' | 'expression': ...}")
    if "registered" in function:
        entry = (
            _registry.ACTIVATIONS.get(function["registered"])
            if isinstance(function["registered"], str)
            else None
        )
        if entry is None:
            raise ModelFileError(
                f"the model uses the activation {function['registered']!r:.80}, registered by name "
                "when it was saved. Call nnscratch.register_activation(name, fn, derivative) with the "
                f"same functions before loading. Registered now: {sorted(_registry.ACTIVATIONS)}"
            )
        return Activation(entry.fn, entry.derivative, name=name, kinks=tuple(kinks))
    if "formula" in function:
        return _from_formula(function["formula"], name, kinks, path)
    if "expression" in function:
        expr = expression_from_json(function["expression"])
        try:
            act = activation_from_expression(expr, name, path)
        except ModelFileError:
            raise
        except Exception as exc:  # sympy refusing a (validated) tree: still a bad file
            raise _refuse(path, f"the activation's expression cannot be compiled: {exc}") from exc
        act.name, act.kinks = name, tuple(float(k) for k in kinks)
        return act
    raise _refuse(path, f"unknown activation function kind {sorted(function)}")


def _from_formula(formula: Any, name: str, kinks: list[float], path: str) -> Activation:
    """Rebuild with ``Activation.from_expression(formula)``, whose parser walks a whitelist of
    syntax (nothing is evaluated); any refusal of the formula is a refusal of the file."""
    if not isinstance(formula, str) or len(formula) > 10_000:
        raise _refuse(path, "an activation formula must be a (short) string")
    try:
        act = Activation.from_expression(formula, name=name)
    except Exception as exc:  # the parser's own error (ConfigError), or sympy's
        raise _refuse(path, f"the activation formula cannot be rebuilt: {exc}") from exc
    if not isinstance(act, Activation):
        raise _refuse(path, "Activation.from_expression did not build an activation")
    if [float(k) for k in act.kinks] != [float(k) for k in kinks]:
        raise _refuse(path, "the stored kinks do not match the formula")
    return act


def activation_from_expression(expr: Any, name: str, path: str = "model") -> Activation:
    """An activation computing the sympy expression ``expr`` (and its derivative), compiled to NumPy."""
    _, fn, derivative = compile_expression(expr, f"the activation at {path}")
    act = Activation(fn, derivative, name=name)
    act.expression = expr
    return act


__all__ = [
    "BuildLimits",
    "activation_from_expression",
    "activation_names",
    "from_config",
    "layer_types",
    "module_dtype",
    "to_config",
]

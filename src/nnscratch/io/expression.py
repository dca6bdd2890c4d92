"""Symbolic activations stored as JSON trees, rebuilt without ``eval``.

``sympy.sympify``/``parse_expr`` evaluate Python code, so a model file must not hold an expression
as a string to be parsed. Instead an expression is written as a tree of allowlisted sympy
functions, symbols and bounded numeric literals, and rebuilt node by node with ``evaluate=False``
(so a hostile ``10**10**10`` is never computed while loading). The tree is small by construction:
at most :data:`MAX_NODES` nodes, :data:`MAX_DEPTH` levels, constant exponents within ±64, and
exact constants (integers, rationals and their powers) of at most :data:`MAX_CONSTANT_BITS` bits,
so that differentiating and compiling it stays fast.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from nnscratch.base.errors import MissingDependencyError, ModelFileError

# Functions an activation may use. Anything else is refused when saving and when loading.
_FUNCTIONS = (
    "Add", "Mul", "Pow", "exp", "log", "sin", "cos", "tan", "sinh", "cosh", "tanh", "asinh",
    "acosh", "atanh", "asin", "acos", "atan", "erf", "erfc", "Abs", "sign", "Max", "Min",
    "Heaviside", "Piecewise", "ExprCondPair", "StrictGreaterThan", "StrictLessThan",
    "GreaterThan", "LessThan", "Equality", "Unequality", "And", "Or", "Not",
)  # fmt: skip
_CONSTANTS = ("pi", "E", "oo", "-oo", "true", "false", "nan")
_MAX_INT = 10**6  # bounds every integer literal (and a Pow's numeric exponent to ±64 below)
MAX_NODES = 500  # a custom activation is a few dozen nodes
MAX_DEPTH = 32  # sympy's derivative of nested Max/Min/Piecewise grows with depth squared
MAX_EXPONENT = 64
MAX_CONSTANT_BITS = 1 << 16  # exact constants stay cheap (a 20,000-digit integer at most)
_SYMBOL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def _sympy() -> Any:
    try:
        import sympy
    except ImportError as exc:  # pragma: no cover - sympy is in the `explain` extra
        raise MissingDependencyError(
            "symbolic activations need sympy: pip install 'nnscratch[explain]'"
        ) from exc
    return sympy


def _constants(sp: Any) -> dict[str, Any]:
    return {
        "pi": sp.pi, "E": sp.E, "oo": sp.oo, "-oo": sp.S.NegativeInfinity,
        "true": sp.true, "false": sp.false, "nan": sp.nan,
    }  # fmt: skip


def expression_to_json(expr: Any) -> dict[str, Any]:
    """Encode a sympy expression as a JSON tree (raises ModelFileError for unsupported parts)."""
    sp = _sympy()
    count = [0]

    def enc(e: Any, depth: int) -> dict[str, Any]:
        count[0] += 1
        if count[0] > MAX_NODES or depth > MAX_DEPTH:
            raise ModelFileError(
                f"the activation's expression is too large to store (at most {MAX_NODES} nodes, "
                f"{MAX_DEPTH} levels deep)."
            )
        if isinstance(e, sp.Symbol):
            return {"symbol": e.name}
        if isinstance(e, sp.Rational) and max(abs(int(e.p)), int(e.q)) > _MAX_INT:
            raise ModelFileError(f"cannot store the expression's literal {e}: beyond ±{_MAX_INT}.")
        if isinstance(e, sp.Integer):
            return {"int": int(e)}
        if isinstance(e, sp.Rational):
            return {"rational": [int(e.p), int(e.q)]}
        if isinstance(e, sp.Float):
            return {"float": float(e)}
        for name, const in _constants(sp).items():
            if e is const:
                return {"const": name}
        name = type(e).__name__
        if name not in _FUNCTIONS:
            raise ModelFileError(
                f"cannot store an activation expression using {name}: model files rebuild "
                f"expressions only from {', '.join(_FUNCTIONS)}."
            )
        return {"fn": name, "args": [enc(a, depth + 1) for a in e.args]}

    return enc(expr, 0)


def expression_from_json(tree: Any) -> Any:
    """Rebuild a sympy expression from :func:`expression_to_json`'s tree, validating every node.

    Nothing is evaluated: each node is built with ``evaluate=False``, after its size is checked.
    """
    sp = _sympy()
    count = [0]

    def bad(why: str) -> ModelFileError:
        return ModelFileError(f"the activation's stored expression is invalid: {why}.")

    def number(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or abs(v) > _MAX_INT:
            raise bad(f"integer literals must be whole numbers within ±{_MAX_INT}. Received: {v!r:.40}")
        return v

    def dec(node: Any, depth: int) -> tuple[Any, int]:
        """The node's expression and a bound on the bits of its exact constants."""
        count[0] += 1
        if count[0] > MAX_NODES or depth > MAX_DEPTH:
            raise bad(f"it has more than {MAX_NODES} nodes or {MAX_DEPTH} levels")
        if not isinstance(node, dict) or len(node) not in (1, 2):
            raise bad(f"a node must be an object such as {{'symbol': 'x'}}. Received: {node!r:.80}")
        if set(node) == {"symbol"}:
            if not isinstance(node["symbol"], str) or not _SYMBOL.match(node["symbol"]):
                raise bad(f"symbol names must be identifiers. Received: {node['symbol']!r:.80}")
            return sp.Symbol(node["symbol"]), 0
        if set(node) == {"int"}:
            value = number(node["int"])
            return sp.Integer(value), value.bit_length()
        if set(node) == {"rational"}:
            pq = node["rational"]
            if not isinstance(pq, list) or len(pq) != 2 or number(pq[1]) == 0:
                raise bad(f"a rational is [p, q] with q != 0. Received: {pq!r:.80}")
            p, q = number(pq[0]), pq[1]
            return sp.Rational(p, q), p.bit_length() + q.bit_length()
        if set(node) == {"float"}:
            v = node["float"]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise bad(f"float literals must be finite numbers. Received: {v!r:.40}")
            return sp.Float(float(v)), 0
        if set(node) == {"const"}:
            if not isinstance(node["const"], str) or node["const"] not in _CONSTANTS:
                raise bad(f"unknown constant {node['const']!r:.80}")
            return _constants(sp)[node["const"]], 0
        if (
            set(node) != {"fn", "args"}
            or not isinstance(node["fn"], str)
            or node["fn"] not in _FUNCTIONS
            or not isinstance(node["args"], list)
        ):
            raise bad(f"unknown node {node!r:.80}; functions must be one of {', '.join(_FUNCTIONS)}")
        built = [dec(a, depth + 1) for a in node["args"]]
        args = [a for a, _ in built]
        name = node["fn"]
        bits = sum(b for _, b in built)
        if name == "Pow" and len(args) == 2:
            bits = _power_bits(args, built[0][1], bits, bad)
        if bits > MAX_CONSTANT_BITS:
            raise bad(f"its exact constants would exceed {MAX_CONSTANT_BITS} bits")
        try:
            if name == "ExprCondPair":
                return sp.functions.elementary.piecewise.ExprCondPair(*args), bits
            return getattr(sp, name)(*args, evaluate=False), bits
        except (TypeError, ValueError, AttributeError, IndexError) as exc:
            raise bad(f"{name} cannot take these arguments ({exc})") from exc

    return dec(tree, 0)[0]


def _power_bits(args: list[Any], base_bits: int, bits: int, bad: Any) -> int:
    """Check a power's exponent, and bound the bits of ``base ** exponent`` when it is exact."""
    exponent = args[1]
    if exponent.free_symbols:
        return bits
    if not (exponent.is_Rational or exponent.is_Float) or abs(float(exponent)) > MAX_EXPONENT:
        raise bad(f"a constant exponent must be a literal number within ±{MAX_EXPONENT}")
    scale = abs(int(exponent.p)) if exponent.is_Rational else math.ceil(abs(float(exponent)))
    return base_bits * max(1, scale) + bits - base_bits


MAX_DERIVATIVE_NODES = 50_000
_PROBE = np.array([-2.31, -0.53, 0.0, 0.29, 1.61])
# NumPy versions of functions lambdify's NumPy printer cannot print, or prints by rewriting them
# into Piecewise (slow: seconds for a derivative of nested Max); Heaviside keeps sympy's H(0)=1/2
# unless given, DiracDelta (from differentiating a step) is 0 wherever the derivative exists.
_NUMPY_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "Heaviside": lambda a, h0=0.5: np.heaviside(a, h0),
    "DiracDelta": lambda a, k=0: np.zeros_like(a, dtype=np.result_type(a, np.float64)),
    "erf": np.vectorize(math.erf, otypes=[np.float64]),
    "erfc": np.vectorize(math.erfc, otypes=[np.float64]),
}


def compile_expression(expr: Any, what: str = "the activation's expression") -> tuple[Any, Any, Any]:
    """The variable, f and f' of a one-variable sympy expression, compiled to NumPy.

    Refuses (ModelFileError) an expression of several variables, a derivative sympy leaves
    unevaluated or too large, and functions that fail on a few probe points.
    """
    sp = _sympy()
    symbols = sorted(expr.free_symbols, key=str)
    if len(symbols) > 1:
        raise ModelFileError(f"{what} must have one variable. Received: {symbols}")
    z = symbols[0] if symbols else sp.Symbol("x")
    derivative = sp.diff(expr, z)
    size = 0
    for node in sp.preorder_traversal(derivative):
        size += 1
        if size > MAX_DERIVATIVE_NODES:
            raise ModelFileError(f"{what} has a derivative of more than {MAX_DERIVATIVE_NODES} nodes.")
        if isinstance(node, (sp.Derivative, sp.Subs)):
            raise ModelFileError(f"{what} has no closed-form derivative: {derivative!s:.80}")
    modules = [_NUMPY_FUNCTIONS, "numpy"]
    fn, dfn = sp.lambdify(z, expr, modules), sp.lambdify(z, derivative, modules)
    for name, f in (("f", fn), ("f'", dfn)):
        try:
            with np.errstate(all="ignore"):
                out = np.asarray(f(_PROBE.copy()))
        except Exception as exc:  # whatever the compiled code raises, the expression is unusable
            raise ModelFileError(f"{what} cannot be computed ({name}: {type(exc).__name__}: {exc}).") from exc
        if out.dtype.kind not in "biuf" or out.shape not in ((), _PROBE.shape):
            raise ModelFileError(f"{what} does not compute numbers element-wise ({name}: {out.dtype}).")
    return z, fn, dfn


__all__ = ["compile_expression", "expression_from_json", "expression_to_json"]

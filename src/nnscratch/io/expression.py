"""Symbolic activations stored as JSON trees, rebuilt without ``eval``.

``sympy.sympify``/``parse_expr`` evaluate Python code, so a model file must not hold an expression
as a string to be parsed. Instead an expression is written as a tree of allowlisted sympy
functions, symbols and bounded numeric literals, and rebuilt node by node with ``evaluate=False``
(so a hostile ``10**10**10`` is never computed while loading).
"""

from __future__ import annotations

import math
import re
from typing import Any

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
_MAX_NODES = 10_000
_MAX_DEPTH = 100
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
        if count[0] > _MAX_NODES or depth > _MAX_DEPTH:
            raise ModelFileError("the activation's expression is too large to store.")
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
    """Rebuild a sympy expression from :func:`expression_to_json`'s tree, validating every node."""
    sp = _sympy()
    count = [0]

    def bad(why: str) -> ModelFileError:
        return ModelFileError(f"the activation's stored expression is invalid: {why}.")

    def number(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or abs(v) > _MAX_INT:
            raise bad(f"integer literals must be whole numbers within ±{_MAX_INT}. Received: {v!r}")
        return v

    def dec(node: Any, depth: int) -> Any:
        count[0] += 1
        if count[0] > _MAX_NODES or depth > _MAX_DEPTH:
            raise bad("it is too large or too deeply nested")
        if not isinstance(node, dict) or len(node) not in (1, 2):
            raise bad(f"a node must be an object such as {{'symbol': 'x'}}. Received: {node!r:.80}")
        if set(node) == {"symbol"}:
            if not isinstance(node["symbol"], str) or not _SYMBOL.match(node["symbol"]):
                raise bad(f"symbol names must be identifiers. Received: {node['symbol']!r:.80}")
            return sp.Symbol(node["symbol"])
        if set(node) == {"int"}:
            return sp.Integer(number(node["int"]))
        if set(node) == {"rational"}:
            pq = node["rational"]
            if not isinstance(pq, list) or len(pq) != 2 or number(pq[1]) == 0:
                raise bad(f"a rational is [p, q] with q != 0. Received: {pq!r:.80}")
            return sp.Rational(number(pq[0]), pq[1])
        if set(node) == {"float"}:
            v = node["float"]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise bad(f"float literals must be finite numbers. Received: {v!r}")
            return sp.Float(float(v))
        if set(node) == {"const"}:
            if node["const"] not in _CONSTANTS:
                raise bad(f"unknown constant {node['const']!r:.80}")
            return _constants(sp)[node["const"]]
        if set(node) != {"fn", "args"} or node["fn"] not in _FUNCTIONS or not isinstance(node["args"], list):
            raise bad(f"unknown node {node!r:.80}; functions must be one of {', '.join(_FUNCTIONS)}")
        args = [dec(a, depth + 1) for a in node["args"]]
        name = node["fn"]
        if (
            name == "Pow"
            and len(args) == 2
            and not args[1].free_symbols
            and not (args[1].is_Rational and abs(args[1]) <= 64)
        ):
            raise bad("a constant exponent must be a rational number within ±64")
        try:
            if name == "ExprCondPair":
                return sp.functions.elementary.piecewise.ExprCondPair(*args)
            return getattr(sp, name)(*args, evaluate=False)
        except (TypeError, ValueError, AttributeError, IndexError) as exc:
            raise bad(f"{name} cannot take these arguments ({exc})") from exc

    return dec(tree, 0)


__all__ = ["expression_from_json", "expression_to_json"]

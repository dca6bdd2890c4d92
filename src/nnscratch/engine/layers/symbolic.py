"""Formulas for ``Activation.from_expression("relu(x) + sin(x)")``: parsed, derived, compiled.

The expression is parsed by walking Python's syntax tree (``ast``) with a fixed whitelist of
operations — nothing is ever evaluated — into a sympy expression; sympy differentiates it, prints
f and f' in LaTeX, and ``lambdify`` compiles both to vectorised NumPy. The activation built from it
(:class:`~nnscratch.engine.layers.activations.SymbolicActivation`) is gradchecked when created.

Allowed: the variable ``x`` (or ``z``), numbers, ``pi``, ``e``, ``+ - * / **`` (``^`` also means
power), and the functions ``relu, sigmoid, tanh, exp, log, sin, cos, abs, max, min, softplus,
sqrt, pow``.

Kink convention (the derivative at a point where the function is not differentiable): every
step function in f' is 0 at its jump, ``H(0) = 0``. So ``relu'(0) = 0`` (as in PyTorch),
``abs'(0) = sign(0) = 0``, and at a tie of ``max(a, b)`` / ``min(a, b)`` both branches' steps are 0
(``max(x, 0.1*x)`` has derivative 0 at x = 0). The points where f' jumps are in ``.kinks``.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from nnscratch.base.errors import ConfigError, MissingDependencyError

from ..functional import sigmoid as _np_sigmoid

try:
    import sympy as sp
    from sympy.printing.latex import LatexPrinter
    from sympy.printing.str import StrPrinter
except ImportError as exc:  # pragma: no cover - sympy ships with the `explain` extra
    raise MissingDependencyError(
        "symbolic activations need sympy: pip install 'nnscratch[explain]' (or pip install sympy)"
    ) from exc

MAX_LENGTH = 300
MAX_DEPTH = 32  # nesting levels of the formula's syntax tree
MAX_EXPONENT = 64  # a constant exponent's magnitude: x**64, never 9**9**9 (sympy would compute it)
MAX_CONSTANT_BITS = 1 << 16  # an exact constant (such as 2**64**2) stays a cheap integer
X = sp.Symbol("x", real=True)
_PLACEHOLDER = sp.Symbol("XPLACEHOLDERX", real=True)
_TEST_POINTS = np.array([-2.31, -1.17, -0.53, -0.11, 0.29, 0.87, 1.61, 2.43])


def _power_latex(out: str, exp: Any) -> str:
    """``out`` raised to ``exp`` (the printer passes the exponent of ``relu(x)**2`` to the function)."""
    return out if exp is None else f"{{{out}}}^{{{exp}}}"


class relu(sp.Function):
    """max(0, x); relu'(x) = H(x) with H(0) = 0."""

    nargs = 1

    @classmethod
    def eval(cls, arg: Any) -> Any:
        if arg.is_number and arg.is_extended_real:
            return sp.Max(0, arg)
        return None

    def fdiff(self, argindex: int = 1) -> Any:
        return sp.Heaviside(self.args[0], 0)

    def _latex(self, printer: Any, exp: Any = None) -> str:
        return _power_latex(r"\operatorname{ReLU}\left(" + printer._print(self.args[0]) + r"\right)", exp)


class sigmoid(sp.Function):
    """1 / (1 + e^{-x}); sigmoid' = sigmoid (1 - sigmoid)."""

    nargs = 1

    @classmethod
    def eval(cls, arg: Any) -> Any:
        if arg.is_number:
            return 1 / (1 + sp.exp(-arg))
        return None

    def fdiff(self, argindex: int = 1) -> Any:
        return sigmoid(self.args[0]) * (1 - sigmoid(self.args[0]))

    def _latex(self, printer: Any, exp: Any = None) -> str:
        return _power_latex(r"\sigma\left(" + printer._print(self.args[0]) + r"\right)", exp)


class softplus(sp.Function):
    """log(1 + e^x); softplus' = sigmoid."""

    nargs = 1

    @classmethod
    def eval(cls, arg: Any) -> Any:
        if arg.is_number:
            return sp.log(1 + sp.exp(arg))
        return None

    def fdiff(self, argindex: int = 1) -> Any:
        return sigmoid(self.args[0])

    def _latex(self, printer: Any, exp: Any = None) -> str:
        return _power_latex(r"\operatorname{softplus}\left(" + printer._print(self.args[0]) + r"\right)", exp)


class _Latex(LatexPrinter):
    """LaTeX with an explicit ``\\cdot`` (so numbers substituted side by side stay readable) and
    the Heaviside step written as an indicator, ``1[x > 0]``."""

    def __init__(self) -> None:
        super().__init__({"mul_symbol": "dot", "order": "none"})

    def _print_Heaviside(self, expr: Any, exp: Any = None) -> str:
        out = r"\mathbf{1}\left[" + self._print(expr.args[0]) + r" > 0\right]"
        return out if exp is None else f"{out}^{{{exp}}}"

    def _print_sign(self, expr: Any, exp: Any = None) -> str:
        out = r"\operatorname{sign}\left(" + self._print(expr.args[0]) + r"\right)"
        return out if exp is None else f"{out}^{{{exp}}}"


class _Str(StrPrinter):
    def __init__(self) -> None:
        super().__init__({"order": "none"})

    def _print_Heaviside(self, expr: Any) -> str:
        return "1[" + self._print(expr.args[0]) + " > 0]"


def _fn(cls: Any, arity: int | None) -> tuple[Callable[..., Any], int | None]:
    return cls, arity


_FUNCTIONS: dict[str, tuple[Callable[..., Any], int | None]] = {
    "relu": _fn(relu, 1),
    "sigmoid": _fn(sigmoid, 1),
    "softplus": _fn(softplus, 1),
    "tanh": _fn(sp.tanh, 1),
    "exp": _fn(sp.exp, 1),
    "log": _fn(sp.log, 1),
    "sin": _fn(sp.sin, 1),
    "cos": _fn(sp.cos, 1),
    "abs": _fn(sp.Abs, 1),
    "sqrt": _fn(sp.sqrt, 1),
    "pow": _fn(sp.Pow, 2),
    "max": _fn(sp.Max, None),
    "min": _fn(sp.Min, None),
}
_CONSTANTS = {"pi": sp.pi, "e": sp.E}
_VARIABLES = ("x", "z")
_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}
_NUMPY = {
    "relu": lambda v: np.maximum(v, 0.0),
    "sigmoid": lambda v: _np_sigmoid(np.asarray(v, dtype=np.result_type(v, np.float32))),
    "softplus": lambda v: np.logaddexp(0.0, v),
    # printed as a call: NumPy's printer would rewrite each step into a Piecewise, which takes
    # seconds for the derivative of a max of a few functions (same values: H(0) = h0)
    "Heaviside": lambda v, h0=0.5: np.heaviside(v, h0),
}


def _error(expression: str, col: int, message: str) -> ConfigError:
    """A parse error pointing at 0-based column ``col`` of the expression."""
    col = max(0, min(col, len(expression)))
    return ConfigError(
        f"cannot parse activation expression {expression!r}: {message} at position {col + 1}\n"
        f"    {expression}\n    {' ' * col}^"
    )


def parse_expression(expression: str, *, display: bool = False) -> Any:
    """The sympy expression of ``expression`` (in the variable ``x``), or a located ConfigError.

    With ``display=True`` the expression is built unevaluated, keeping the order of terms as
    written (for printing f); the evaluated form is the one to differentiate and compile.
    """
    if not isinstance(expression, str) or not expression.strip():
        raise ConfigError(f"an activation expression must be a non-empty string. Received: {expression!r}")
    if len(expression) > MAX_LENGTH or "\n" in expression:
        raise ConfigError(
            f"an activation expression must be one line of at most {MAX_LENGTH} characters. "
            f"Received: {len(expression)} characters"
        )
    stripped = expression.strip()
    shift = len(expression) - len(expression.lstrip())
    source = stripped.replace("^", "**")  # x^2 as written on paper, with the precedence of **

    def column(col: int) -> int:
        """The column in ``expression`` of column ``col`` of ``source``."""
        extra = 0
        pos = 0
        for ch in stripped:
            width = 2 if ch == "^" else 1
            if pos + width > col:
                break
            pos += width
            extra += width - 1
        return col - extra + shift

    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise _error(expression, column((exc.offset or 1) - 1), f"invalid syntax ({exc.msg})") from None
    used: set[str] = set()

    def walk(node: ast.AST, depth: int = 0) -> Any:
        col = column(getattr(node, "col_offset", 0))
        if depth > MAX_DEPTH:
            raise _error(expression, col, f"the formula is nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, ast.Expression):
            return walk(node.body, depth + 1)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = walk(node.left, depth + 1), walk(node.right, depth + 1)
            if isinstance(node.op, ast.Pow):
                _check_power(left, right, lambda why: _error(expression, col, why))
            return _BINARY[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = walk(node.operand, depth + 1)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise _error(expression, col, f"only numbers are allowed as constants, not {node.value!r}")
            return sp.Integer(node.value) if isinstance(node.value, int) else sp.Float(repr(node.value))
        if isinstance(node, ast.Name):
            if node.id in _VARIABLES:
                used.add(node.id)
                return X
            if node.id in _CONSTANTS:
                return _CONSTANTS[node.id]
            raise _error(expression, col, f"unknown name {node.id!r} (the variable is x)")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
                name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
                allowed = ", ".join(sorted(_FUNCTIONS))
                raise _error(expression, col, f"unknown function {name!r} (allowed: {allowed})")
            func, arity = _FUNCTIONS[node.func.id]
            if node.keywords:
                raise _error(expression, col, f"{node.func.id}() takes no keyword arguments")
            n = len(node.args)
            if (arity is not None and n != arity) or (arity is None and n < 2):
                want = f"{arity}" if arity is not None else "at least 2"
                raise _error(expression, col, f"{node.func.id}() takes {want} argument(s), got {n}")
            args = [walk(a, depth + 1) for a in node.args]
            if func is sp.Pow:
                _check_power(*args, lambda why: _error(expression, col, why))
            return func(*args)
        what = type(node).__name__
        if isinstance(node, ast.BinOp):
            what = f"operator {type(node.op).__name__}"
        raise _error(expression, col, f"unsupported syntax ({what})")

    expr = walk(tree)
    if len(used) > 1:
        raise _error(expression, 0, "use one variable name, x or z, not both")
    if not display:
        return sp.sympify(expr)
    with sp.evaluate(False):  # the same tree, unsimplified, so terms print in the order written
        return walk(tree)


def _check_power(base: Any, exponent: Any, error: Callable[[str], ConfigError]) -> None:
    """Refuse a power sympy would compute into a huge exact number (``9**9**9`` hangs it)."""
    if exponent.free_symbols:
        return
    if not (exponent.is_real and exponent.is_number) or abs(float(exponent)) > MAX_EXPONENT:
        raise error(f"a constant exponent must be a real number within ±{MAX_EXPONENT}")
    if base.free_symbols or not base.is_Rational:
        return
    bits = int(abs(base.p)).bit_length() + int(base.q).bit_length()
    if bits * math.ceil(abs(float(exponent))) > MAX_CONSTANT_BITS:
        raise error(f"the power's exact value would exceed {MAX_CONSTANT_BITS} bits")


def differentiate(expr: Any, expression: str = "") -> Any:
    """f'(x), with every Heaviside step set to H(0) = 0 (the kink convention)."""
    deriv = sp.diff(expr, X)
    deriv = deriv.replace(sp.Heaviside, lambda arg, *_: sp.Heaviside(arg, 0))
    if deriv.has(sp.Derivative, sp.Subs, sp.DiracDelta):
        raise ConfigError(
            f"cannot differentiate activation expression {expression!r} in closed form: {deriv}"
        )
    return deriv


def _kinks(deriv: Any) -> tuple[float, ...]:
    """Real points where the derivative jumps (zeros of Heaviside / sign arguments).

    Only arguments polynomial in x of degree <= 2 are solved (relu(x - 1), abs(x**2 - 1)...):
    ``sympy.solve`` on others can take seconds to minutes, and a formula read from a file must
    not. Jumps elsewhere are not listed (gradcheck then may report them as mismatches).
    """
    points: set[float] = set()
    for node in deriv.atoms(sp.Heaviside, sp.sign):
        arg = node.args[0]
        if not arg.is_polynomial(X) or sp.degree(arg, X) > 2:
            continue
        try:
            roots = sp.solve(sp.Eq(arg, 0), X)
        except (NotImplementedError, ValueError, TypeError):
            continue
        for r in roots:
            if r.is_real and r.is_number:
                points.add(float(r))
    return tuple(sorted(points))


def _compile(expr: Any) -> Callable[[np.ndarray], np.ndarray]:
    return sp.lambdify(X, expr, modules=[_NUMPY, "numpy"])


class Formula:
    """f and f' of an expression in ``x``: sympy forms, compiled NumPy functions, LaTeX and text.

    Attributes
    ----------
    expression : str
        The formula as written (kept so model files can store and rebuild it).
    sympy_expr, sympy_derivative : sympy.Expr
    fn, derivative : callable
        f and f' compiled to vectorised NumPy.
    kinks : tuple of float
        Points where f' jumps; there every step is 0 (``relu'(0) = 0``).
    latex, derivative_latex, text, derivative_text : str
    """

    def __init__(self, expression: str) -> None:
        self.sympy_expr = parse_expression(expression)  # checks the type and length first
        self.expression = expression.strip()
        self.sympy_derivative = differentiate(self.sympy_expr, expression)
        self._display_expr = parse_expression(expression, display=True)
        self.fn = _compile(self.sympy_expr)
        self.derivative = _compile(self.sympy_derivative)
        self.kinks = _kinks(self.sympy_derivative)
        self.latex = _Latex().doprint(self._display_expr)
        self.derivative_latex = _Latex().doprint(self.sympy_derivative)
        self.text = _Str().doprint(self._display_expr)
        self.derivative_text = _Str().doprint(self.sympy_derivative)

    def at(self, arg: str, *, derivative: bool = False, latex: bool = False) -> str:
        """f(arg) (or f'(arg)) printed with ``arg`` substituted for x, e.g. ``at("0.95")``."""
        expr = self.sympy_derivative if derivative else self._display_expr
        printed = (_Latex() if latex else _Str()).doprint(expr.xreplace({X: _PLACEHOLDER}))
        return printed.replace(_PLACEHOLDER.name, arg)


__all__ = ["Formula", "differentiate", "parse_expression"]

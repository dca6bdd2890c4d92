"""The steps of a LayerNorm, forward and backward, one row per sample.

Forward, each row over its D features: μ = mean(x), σ² = mean((x − μ)²) (biased, as PyTorch),
σ̂ = √(σ² + ε), x̂ = (x − μ)/σ̂, y = γ ⊙ x̂ + β. Backward, with g = ∂L/∂y: ∂L/∂γ = Σ_rows g ⊙ x̂,
∂L/∂β = Σ_rows g, ∂L/∂x̂ = g ⊙ γ and ∂L/∂x = (1/σ̂)(∂L/∂x̂ − mean(∂L/∂x̂) − x̂ ⊙ mean(∂L/∂x̂ ⊙ x̂)).
"""

from __future__ import annotations

from nnscratch.engine.layers.normalization import LayerNorm

from .chain_symbols import ChainSymbols
from .chain_trace import ModuleTrace
from .mathfmt import Line, Mat, T, Tex, fmt_num, latex_num, num, sup
from .row_steps import grad, row
from .steps import Note, Step

DETAIL_ROWS = 4  # entry-by-entry means only for batches this small
ODOT = T(r" \odot ", " ⊙ ")
MEAN = T(r"\operatorname{mean}_{\text{row}}\left(", "mean_row(")
SUM_ROWS = T(r"\textstyle\sum_{\text{rows}} ", "Σ_rows ")
CLOSE = T(r"\right)", ")")
TWO_MEANS = Note(
    r"$\mu$ and $\sigma^2$ depend on every input of the row, hence the two means: without them "
    r"this would be $\frac{\partial L}{\partial \hat{x}} / \hat{\sigma}$. The column vectors "
    "apply to every entry of their row.",
    "μ and σ² depend on every input of the row, hence the two means: without them this would "
    "be ∂L/∂x̂ / σ̂. The column vectors apply to every entry of their row.",
)


class _Sym:
    """The LayerNorm symbols of module m."""

    def __init__(self, cs: ChainSymbols, m: int) -> None:
        self.x, self.y = cs.h(m - 1), cs.h(m)
        self.mu = cs.of(r"\mu", "μ", m)
        self.var = cs.of(r"\sigma^2", "σ²", m) if cs.single else Tex(rf"\sigma^{{2\,({m})}}", "σ²" + sup(m))
        self.std = cs.of(r"\hat{\sigma}", "σ̂", m)
        self.xhat = cs.of(r"\hat{x}", "x̂", m)
        self.gamma = cs.of(r"\gamma", "γ", m)
        self.beta = cs.of(r"\beta", "β", m)


def given_steps(mt: ModuleTrace, cs: ChainSymbols) -> list[Step]:
    ln: LayerNorm = mt.module  # type: ignore[assignment]
    sy, s, where = _Sym(cs, mt.index), cs.sfx(mt.index), cs.name(mt.index, "LayerNorm")
    out = []
    if ln.weight is not None:
        out.append(Step(f"gamma{s}", f"Scale γ (weight){where}", sy.gamma, row(ln.weight.data)))
    if ln.bias is not None:
        out.append(Step(f"beta{s}", f"Shift β (bias){where}", sy.beta, row(ln.bias.data)))
    return out


def _mean_details(mt: ModuleTrace, decimals: int) -> list[Line]:
    lines: list[Line] = []
    D = mt.x.shape[1]
    for i, r in enumerate(mt.x):
        terms = " + ".join(fmt_num(v, decimals) if v >= 0 else f"({fmt_num(v, decimals)})" for v in r)
        terms_l = " + ".join(latex_num(v, decimals) if v >= 0 else f"({latex_num(v, decimals)})" for v in r)
        lhs = Tex(rf"\mu_{{{i + 1}}}", f"μ[{i + 1}]")
        body = Tex(rf"\frac{{{terms_l}}}{{{D}}}", f"({terms}) / {D}")
        lines.append((lhs, T(" = "), body, T(" = "), num(mt.mu[i, 0], decimals)))
    return lines


def forward_steps(mt: ModuleTrace, cs: ChainSymbols, decimals: int) -> list[Step]:
    ln: LayerNorm = mt.module  # type: ignore[assignment]
    m, sy, s = mt.index, _Sym(cs, mt.index), cs.sfx(mt.index)
    D, where = mt.x.shape[1], cs.name(m, "LayerNorm")
    X = Mat(mt.x)
    mu = Step(f"mu{s}", f"Mean of each row{where}", sy.mu, mt.mu, (MEAN, sy.x, CLOSE), (MEAN, X, CLOSE))
    mu.notes.append(
        Note(
            f"Each sample (row) is normalised over its own $D = {D}$ features.",
            f"Each sample (row) is normalised over its own D = {D} features.",
        )
    )
    if mt.x.shape[0] <= DETAIL_ROWS:
        mu.details.extend(_mean_details(mt, decimals))
    centred = (T(r"\left(", "("), sy.x, T(" - "), sy.mu, T(r"\right)^2", ")²"))
    var = Step(
        f"var{s}",
        f"Variance of each row (biased){where}",
        sy.var,
        mt.var,
        (MEAN, *centred, CLOSE),
        (MEAN, T(r"\left(", "("), X, T(" - "), Mat(mt.mu), T(r"\right)^2", ")²"), CLOSE),
        notes=[
            Note(
                f"Divided by $D = {D}$, not $D - 1$: the biased variance, as PyTorch's LayerNorm.",
                f"Divided by D = {D}, not D − 1: the biased variance, as PyTorch's LayerNorm.",
            )
        ],
    )
    eps_l, eps_t = latex_num(ln.eps, 12), fmt_num(ln.eps, 12)
    std = Step(
        f"std{s}",
        f"Standard deviation with ε{where}",
        sy.std,
        mt.std,
        (T(r"\sqrt{", "√("), sy.var, T(r" + \epsilon}", " + ε)")),
        (T(r"\sqrt{", "√("), Mat(mt.var), T(rf" + {eps_l}}}", f" + {eps_t})")),
        notes=[
            Note(
                f"$\\epsilon = {eps_l}$ keeps the division safe for a constant row.",
                f"ε = {eps_t} keeps the division safe for a constant row.",
            )
        ],
    )
    xhat = Step(
        f"xhat{s}",
        f"Normalised input{where}",
        sy.xhat,
        mt.xhat,
        (T(r"\left(", "("), sy.x, T(" - "), sy.mu, T(r"\right) / ", ") / "), sy.std),
        (T(r"\left(", "("), X, T(" - "), Mat(mt.mu), T(r"\right) / ", ") / "), Mat(mt.std)),
        notes=[
            Note(
                "$\\mu$ and $\\hat{\\sigma}$ are per row: each is used across its row.",
                "μ and σ̂ are per row: each is used across its row.",
            )
        ],
    )
    symbolic: Line = (sy.xhat,)
    substituted: Line = (Mat(mt.xhat),)
    if ln.weight is not None:
        symbolic = (sy.gamma, ODOT, sy.xhat)
        substituted = (Mat(row(ln.weight.data)), ODOT, Mat(mt.xhat))
    if ln.bias is not None:
        symbolic += (T(" + "), sy.beta)
        substituted += (T(" + "), Mat(row(ln.bias.data)))
    y = Step(cs.out_key(m), f"Scale and shift{where}", sy.y, mt.out, symbolic, substituted)
    if ln.weight is not None:
        y.notes.append(
            Note(
                "$\\gamma$ and $\\beta$ are per feature: the same for every row.",
                "γ and β are per feature: the same for every row.",
            )
        )
    return [mu, var, std, xhat, y]


def backward_steps(mt: ModuleTrace, cs: ChainSymbols) -> list[Step]:
    ln: LayerNorm = mt.module  # type: ignore[assignment]
    m, sy, s, where = mt.index, _Sym(cs, mt.index), cs.sfx(mt.index), cs.name(mt.index, "LayerNorm")
    G, dy = Mat(mt.g_out), grad(sy.y)
    out = []
    if ln.weight is not None:
        out.append(
            Step(
                f"dgamma{s}",
                f"Gradient of the scale γ{where}",
                grad(sy.gamma),
                row(mt.grads["weight"]),
                (SUM_ROWS, dy, ODOT, sy.xhat),
                (SUM_ROWS, G, ODOT, Mat(mt.xhat)),
            )
        )
    if ln.bias is not None:
        out.append(
            Step(
                f"dbeta{s}",
                f"Gradient of the shift β{where}",
                grad(sy.beta),
                row(mt.grads["bias"]),
                (SUM_ROWS, dy),
                (SUM_ROWS, G),
            )
        )
    dxhat = grad(sy.xhat)
    if ln.weight is not None:
        out.append(
            Step(
                f"dxhat{s}",
                f"Gradient at the normalised input{where}",
                dxhat,
                mt.dxhat,
                (dy, ODOT, sy.gamma),
                (G, ODOT, Mat(row(ln.weight.data))),
            )
        )
    else:
        out.append(
            Step(f"dxhat{s}", f"Gradient at the normalised input{where}", dxhat, mt.dxhat, (dy,), (G,))
        )
    m1 = Tex(r"m_1", "m₁")
    m2 = Tex(r"m_2", "m₂")
    out.append(
        Step(
            f"mean_dxhat{s}",
            f"Backward, part 1: row means of that gradient{where}",
            m1,
            mt.mean_dxhat,
            (MEAN, dxhat, CLOSE),
            (MEAN, Mat(mt.dxhat), CLOSE),
        )
    )
    out.append(
        Step(
            f"mean_dxhat_xhat{s}",
            f"Backward, part 2: row means of that gradient times the normalised input{where}",
            m2,
            mt.mean_dxhat_xhat,
            (MEAN, dxhat, ODOT, sy.xhat, CLOSE),
            (MEAN, Mat(mt.dxhat), ODOT, Mat(mt.xhat), CLOSE),
        )
    )
    paren = (T(r"\left(", "("), dxhat, T(" - "), m1, T(" - "), sy.xhat, ODOT, m2, T(r"\right)", ")"))
    paren_n = (
        T(r"\left(", "("),
        Mat(mt.dxhat),
        T(" - "),
        Mat(mt.mean_dxhat),
        T(" - "),
        Mat(mt.xhat),
        ODOT,
        Mat(mt.mean_dxhat_xhat),
        T(r"\right)", ")"),
    )
    out.append(
        Step(
            cs.in_grad_key(m),
            f"Gradient at the input{where}",
            grad(sy.x),
            mt.g_in,
            (T("1 / "), sy.std, ODOT, *paren),
            (T("1 / "), Mat(mt.std), ODOT, *paren_n),
            notes=[TWO_MEANS],
        )
    )
    return out


__all__ = ["backward_steps", "forward_steps", "given_steps"]

r"""Terminal text for the derivation pages: their LaTeX math written in Unicode.

The worked examples write every formula twice (:class:`~nnscratch.worked.mathfmt.Tex`); the
derivation pages are hand-written Markdown with LaTeX math, so this module reads the small LaTeX
subset they use and writes it the way :class:`Tex` writes its plain form:
``\frac{\partial L}{\partial z^{(l)}}`` becomes ``∂L/∂z⁽ˡ⁾``, ``\hat{y}_k`` becomes ``ŷₖ``,
``\sum`` ``Σ``, ``\odot`` ``⊙``. Unknown commands are kept by name (``\foo`` → ``foo``), so
nothing is silently dropped.
"""

from __future__ import annotations

import re
import unicodedata

_SUP = dict(
    zip(
        "0123456789+-−=()abcdefghijklmnoprstuvwxyzLNTᵀ",
        "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴸᴺᵀᵀ",
        strict=True,
    )
)
_SUB = dict(zip("0123456789+-−=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ", strict=True))

_SYMBOLS = {  # written as is; the space after the command is a separator, not output
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "Delta": "Δ", "epsilon": "ε",
    "varepsilon": "ε", "eta": "η", "theta": "θ", "lambda": "λ", "mu": "μ", "pi": "π",
    "sigma": "σ", "tau": "τ", "phi": "φ", "omega": "ω", "ell": "ℓ", "partial": "∂",
    "nabla": "∇", "cdots": "⋯", "ldots": "…", "dots": "…", "infty": "∞", "top": "ᵀ", "prime": "′",
    "|": "‖", "{": "{", "}": "}",
    "$": "$", "%": "%", "_": "_", "#": "#", "&": "&",
}  # fmt: skip
_OPERATORS = {  # written with a space either side
    "odot": "⊙", "cdot": "·", "times": "×", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥",
    "neq": "≠", "ne": "≠", "approx": "≈", "in": "∈", "leftarrow": "←", "rightarrow": "→",
    "to": "→", "gets": "←", "pm": "±", "mid": "|",
}  # fmt: skip
_BIG = {"sum": "Σ", "prod": "Π", "int": "∫"}
_FUNCTIONS = {"log", "ln", "exp", "max", "min", "sin", "cos", "tanh", "sinh", "cosh", "arg", "det"}
_SPACES = {",": " ", ";": " ", ":": " ", " ": " ", "!": "", "quad": "\0\0", "qquad": "\0\0\0\0"}
_SIZING = {"left", "right", "bigl", "bigr", "Bigl", "Bigr", "big", "Big", "biggl", "biggr", "displaystyle"}
_TEXT_ARG = {"text", "texttt", "textrm", "textit", "textbf", "mathrm", "operatorname", "mathit"}
_STYLE_ARG = {"mathbf", "boldsymbol", "bm", "mathcal", "mathbb"}
_ACCENTS = {"hat": "\u0302", "widehat": "\u0302", "bar": "\u0304", "overline": "\u0304", "tilde": "\u0303"}
_FRACTIONS = {"frac", "dfrac", "tfrac"}
#: after one of these a fraction needs no parentheses: ``a/b = c``, ``a/b ⊙ c``
_ENDS_TERM = set(_OPERATORS) | {"quad", "qquad", "right", "bigr", "Bigr", "biggr", "end", "\\", "text"}


def _atomic(s: str) -> bool:
    """True when ``s`` needs no parentheses as a numerator, denominator or root: ``∂z⁽ˡ⁾``, ``2``."""
    return not re.search(r"[\s+−\-/=,]", s.strip())


def _script(s: str, table: dict[str, str], mark: str) -> str:
    s = s.strip()
    if s and all(c in table for c in s):
        return "".join(table[c] for c in s)
    return mark + (s if len(s) == 1 else f"({s})")


class _Parser:
    def __init__(self, src: str) -> None:
        self.src = src
        self.i = 0
        self.envs: list[str] = []

    def peek(self) -> str:
        return self.src[self.i] if self.i < len(self.src) else ""

    def skip_spaces(self) -> None:
        while self.peek().isspace():
            self.i += 1

    def command(self) -> str:
        """The command name after a backslash (letters, or one other character)."""
        self.i += 1  # the backslash
        m = re.match(r"[A-Za-z]+", self.src[self.i :])
        name = m.group(0) if m else self.src[self.i : self.i + 1]
        self.i += len(name)
        return name

    def group_raw(self) -> str:
        """A ``{...}`` argument's source, unconverted (for ``\\text``); a bare character otherwise."""
        self.skip_spaces()
        if self.peek() != "{":
            ch = self.peek()
            self.i += len(ch)
            return ch
        depth, start = 0, self.i
        while self.i < len(self.src):
            ch = self.src[self.i]
            depth += {"{": 1, "}": -1}.get(ch, 0)
            self.i += 1
            if depth == 0:
                break
        return self.src[start + 1 : self.i - 1]

    def argument(self) -> str:
        """One argument, converted: a ``{...}`` group, a command, or one character."""
        self.skip_spaces()
        ch = self.peek()
        if ch == "{":
            self.i += 1
            out = self.sequence("}")
            self.i += 1
            return out
        if ch == "\\":
            return self.token()
        self.i += len(ch)
        return "−" if ch == "-" else ch

    def next_ends_term(self) -> bool:
        rest = self.src[self.i :].lstrip()
        if not rest or rest[0] in "=,.;)]}&+-<>|":
            return True
        if rest[0] == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", rest)
            return m is not None and m.group(1) in _ENDS_TERM
        return False

    def token(self) -> str:
        ch = self.peek()
        if ch != "\\":
            self.i += 1
            if ch == "{":
                out = self.sequence("}")
                self.i += 1
                return out
            if ch == "^":
                return _script(self.argument(), _SUP, "^")
            if ch == "_":
                return _script(self.argument(), _SUB, "_")
            if ch == "-":
                return "−"
            if ch == "~":
                return " "
            if ch == "&":
                if not (self.envs and self.envs[-1] == "cases"):
                    return ""
                # "0 if otherwise" reads wrong: the otherwise branch needs no "if"
                return " " if self.src[self.i :].lstrip().startswith("\\text{otherwise") else " if "
            return ch
        name = self.command()
        if name in _SYMBOLS:
            if name in ("partial", "nabla"):
                self.skip_spaces()  # `\partial L` is ∂L: the space only ends the command name
            return _SYMBOLS[name]
        if name in _OPERATORS:
            self.skip_spaces()
            return f" {_OPERATORS[name]} "
        if name in _BIG:
            return _BIG[name]
        if name in _FUNCTIONS:
            return name
        if name in _SPACES:
            return _SPACES[name]
        if name in _SIZING:
            self.skip_spaces()
            if self.peek() == ".":  # \left. : no delimiter
                self.i += 1
            return ""
        if name in _TEXT_ARG:
            return self.group_raw()
        if name in _STYLE_ARG:
            return self.argument()
        if name in _ACCENTS:
            arg = self.argument() + _ACCENTS[name]
            return unicodedata.normalize("NFC", arg)  # ŷ as one character where Unicode has it
        if name in _FRACTIONS:
            num, den = self.argument(), self.argument()
            num = num.strip() if _atomic(num) else f"({num.strip()})"
            den = den.strip() if _atomic(den) else f"({den.strip()})"
            frac = f"{num}/{den}"
            return frac if self.next_ends_term() else f"({frac})"
        if name == "sqrt":
            arg = self.argument().strip()
            return "√" + (arg if _atomic(arg) else f"({arg})")
        if name == "begin":
            env = self.group_raw()
            self.envs.append(env)
            return "{ " if env == "cases" else ""
        if name == "end":
            self.group_raw()
            env = self.envs.pop() if self.envs else ""
            return " }" if env == "cases" else ""
        if name == "\\":
            return "; " if self.envs and self.envs[-1] == "cases" else "\n"
        return name  # unknown: keep its name

    def sequence(self, stop: str = "") -> str:
        out = []
        while self.i < len(self.src) and (not stop or self.peek() != stop):
            out.append(self.token())
        return "".join(out)


def latex_to_text(math: str) -> str:
    r"""One LaTeX formula (no ``$``) in Unicode: ``\frac{\partial L}{\partial z}`` → ``∂L/∂z``."""
    text = _Parser(math).sequence()
    text = re.sub(r" {2,}", " ", text).replace("\0", " ")
    text = re.sub(r"\( ", "(", re.sub(r" ([),])", r"\1", text))
    return "\n".join(line.strip() for line in text.split("\n"))


def _inline(line: str) -> str:
    line = re.sub(r"(?<!\\)\$(.+?)(?<!\\)\$", lambda m: latex_to_text(m.group(1)), line)
    return re.sub(r"\*\*(.+?)\*\*", r"\1", line)


def markdown_to_text(markdown: str) -> str:
    """A Markdown page with LaTeX math as terminal text.

    Display math (``$$ ... $$``) becomes indented Unicode lines, inline ``$...$`` Unicode in the
    sentence; headings are underlined as in :meth:`WorkedExample.to_text`; bold markers are dropped.
    """
    out: list[str] = []
    lines = markdown.splitlines()
    i, fenced = 0, False
    while i < len(lines):
        line = lines[i]
        i += 1
        if line.lstrip().startswith("```") or fenced:  # code is shown as written
            fenced ^= line.lstrip().startswith("```")
            out.append(line)
        elif line.strip().startswith("$$"):
            body = [line.strip()[2:]]
            while "$$" not in body[-1] and i < len(lines):
                body.append(lines[i])
                i += 1
            formula = latex_to_text(" ".join(body).split("$$")[0])
            out += ["    " + f for f in formula.split("\n") if f.strip()]
        elif heading := re.match(r"^(#+)\s+(.*)$", line):
            title = _inline(heading.group(2))
            out += [title, ("=" if len(heading.group(1)) == 1 else "-") * len(title)]
        else:
            out.append(_inline(line))
    return "\n".join(out).rstrip("\n") + "\n"

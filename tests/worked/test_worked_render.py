"""Renderers: Markdown (+ LaTeX math), standalone LaTeX (compiled when a TeX engine is installed,
structure-checked always), plain text, and Jupyter's rich display."""

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import nnscratch as ns
from nnscratch.worked import explain_problem
from nnscratch.worked.mathfmt import fmt_num, latex_num

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "explain"


def _examples():
    out = [explain_problem(p) for p in sorted(EXAMPLES.glob("*.toml"))]
    model = ns.Sequential(ns.Linear(3, 4, rng=0), ns.LeakyReLU(0.2), ns.Linear(4, 3, rng=1))
    out.append(
        ns.explain(model, np.ones((2, 3)), [0, 2], loss=ns.CrossEntropyLoss(), optimizer="adam", lr=0.01)
    )
    model2 = ns.Sequential(
        ns.Linear(2, 2, rng=2), ns.Activation.from_expression("x^2/2 - abs(x)"), ns.Linear(2, 1)
    )
    out.append(
        ns.explain(model2, [0.5, -2.0], 0.3, loss="mse", optimizer=lambda p: ns.SGD(p, lr=0.1, momentum=0.9))
    )
    return out


EXAMPLE_RESULTS = _examples()


def check_latex_structure(doc: str) -> None:
    """What a LaTeX compiler would choke on: unbalanced environments, braces, \\left/\\right."""
    assert doc.startswith("\\documentclass")
    assert doc.count("\\begin{document}") == 1 and doc.rstrip().endswith("\\end{document}")
    assert all(ord(ch) < 128 for ch in doc), "pdflatex input must be ASCII"
    stack = []
    for kind, name in re.findall(r"\\(begin|end)\{([^}]*)\}", doc):
        if kind == "begin":
            stack.append(name)
        else:
            assert stack and stack.pop() == name, f"\\end{{{name}}} closes the wrong environment"
    assert not stack, f"unclosed environments {stack}"
    depth = 0
    for ch in re.sub(r"\\[{}]", "", doc):
        depth += ch == "{"
        depth -= ch == "}"
        assert depth >= 0, "a } closes nothing"
    assert depth == 0, "unbalanced braces"
    assert len(re.findall(r"\\left[(\[.|]", doc)) == len(re.findall(r"\\right[)\].|]", doc))
    assert doc.count("\\[") == doc.count("\\]")
    assert "\x00" not in doc


@pytest.mark.parametrize("ex", EXAMPLE_RESULTS, ids=lambda e: e.title[:30])
def test_latex_document_is_well_formed(ex):
    check_latex_structure(ex.to_latex())
    body = ex.to_latex(standalone=False)
    assert "\\documentclass" not in body and "\\section*" in body


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no TeX engine installed")
@pytest.mark.parametrize("ex", EXAMPLE_RESULTS, ids=lambda e: e.title[:30])
def test_latex_document_compiles(ex, tmp_path):
    tex = tmp_path / "worked.tex"
    ex.save(tex)
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert (tmp_path / "worked.pdf").stat().st_size > 1000


@pytest.mark.parametrize("ex", EXAMPLE_RESULTS, ids=lambda e: e.title[:30])
def test_markdown_math_is_balanced_and_parses(ex):
    md = ex.to_markdown()
    assert md == ex._repr_markdown_()
    assert md.count("$$") % 2 == 0
    blocks = re.findall(r"\$\$\n(.*?)\n\$\$", md, flags=re.S)
    assert blocks, "no display math"
    for block in blocks:
        assert block.count("\\begin{bmatrix}") == block.count("\\end{bmatrix}")
        assert block.startswith("\\begin{aligned}") and block.endswith("\\end{aligned}")
        assert block.count("{") - block.count("\\{") == block.count("}") - block.count("\\}")
    markdown_it = pytest.importorskip("markdown_it")
    tokens = markdown_it.MarkdownIt().parse(md)
    assert [t.content for t in tokens if t.type == "inline" and t.content.startswith("# ")] == []
    assert any(t.type == "heading_open" for t in tokens)
    for step in ex.steps():
        assert step.title in md


@pytest.mark.parametrize("ex", EXAMPLE_RESULTS, ids=lambda e: e.title[:30])
def test_text_has_no_latex_left(ex):
    text = ex.to_text()
    assert str(ex) == text
    assert "\\" not in text and "$" not in text and "\x00" not in text
    for key in ex.keys():
        assert f"[{key}]" in text


def test_repr_latex_is_display_math_only():
    ex = EXAMPLE_RESULTS[0]
    out = ex._repr_latex_()
    assert out.startswith("$$") and out.rstrip().endswith("$$")
    assert out.count("\\begin{aligned}") == out.count("\\end{aligned}") == len(ex.sections)


def test_every_step_shows_formula_numbers_and_result():
    ex = explain_problem(EXAMPLES / "seed003_relu_sin.toml")
    md = ex.to_markdown()
    # the z1 step: symbolic, then W1 and x substituted, then the result
    assert "z^{(1)} &= W^{(1)} a^{(0)} + b^{(1)}" in md
    assert "\\begin{bmatrix} 0.1 & -0.2 & 0.3 & 0.4 \\\\ 0.5 & -0.3 & 0.1 & -0.2" in md
    assert "&= \\begin{bmatrix} 1.35 \\\\ 0.35 \\\\ 0.6 \\end{bmatrix}" in md
    # the custom activation with its sympy derivative
    assert "\\operatorname{ReLU}" in md and "\\cos" in md
    # rounding to 4 decimals and the fused shortcut explained
    assert "0.2182" in md and "0.7818" in md
    assert "sums to 1" in md


def test_decimals_setting_changes_the_display_only():
    model = ns.Sequential(ns.Linear.from_arrays([[0.3, -0.7]], [0.1]), ns.Sigmoid())
    ex2 = ns.explain(model, [1, 1], 1, loss="bce", decimals=2)
    ex6 = ns.explain(model, [1, 1], 1, loss="bce", decimals=6)
    assert ex2["a1"] == ex6["a1"]
    assert "ŷ = a⁽¹⁾ = 0.43\n" in ex2.to_text()  # σ(0.3 - 0.7 + 0.1) = 0.425557...
    assert "ŷ = a⁽¹⁾ = 0.425557\n" in ex6.to_text()


def test_number_formatting():
    assert fmt_num(0.82205943, 4) == "0.8221"
    assert fmt_num(-0.02601, 4) == "-0.0260"  # a rounded value keeps its digits...
    assert fmt_num(0.4, 4) == "0.4" and fmt_num(1.0, 4) == "1"  # ...exact data does not
    assert fmt_num(-0.00001, 4) == "-1.00e-05"  # too small to show: never a misleading 0
    assert fmt_num(-0.0, 4) == "0" and fmt_num(float("nan"), 4) == "nan"
    assert latex_num(3.1e-5, 4) == "3.10 \\times 10^{-5}"


def test_save_picks_the_format_from_the_extension(tmp_path):
    ex = EXAMPLE_RESULTS[0]
    assert ex.save(tmp_path / "a.md").read_text().startswith("# ")
    assert ex.save(tmp_path / "a.tex").read_text().startswith("\\documentclass")
    assert "=====" in ex.save(tmp_path / "a.txt").read_text()
    with pytest.raises(ns.HyperparameterError, match="format"):
        ex.render("html")


@pytest.mark.slow
def test_markdown_renders_in_a_notebook(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    src = Path(__file__).resolve().parents[2] / "src"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(f"import sys; sys.path.insert(0, {str(src)!r})\nimport nnscratch as ns"),
        nbformat.v4.new_code_cell(
            "w1 = [[0.4, 0.3], [0.6, 0.9], [0.2, 0.5]]\n"
            "model = ns.Sequential(ns.Linear.from_arrays(w1, [1, 1, 1]), ns.Sigmoid(),\n"
            "                      ns.Linear.from_arrays([[0.2, 0.2, 0.8]], [0.5]), ns.Sigmoid())\n"
            "ns.explain(model, [1, 1], 1, loss='l2', lr=0.1)"
        ),
    ]
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    outputs = nb.cells[1].outputs
    data = outputs[0]["data"]
    assert "text/markdown" in data and "0.8221" in data["text/markdown"]
    assert "text/latex" in data and "\\begin{aligned}" in data["text/latex"]

"""Every heading of ns.explain and ns.check_work is printed once (text, Markdown and structure)."""

import itertools
import re
from collections import Counter

import numpy as np
import pytest

import nnscratch as ns


def _model():
    return ns.Sequential(ns.Linear(2, 2, rng=0), ns.Tanh(), ns.Linear(2, 1, rng=1), ns.Sigmoid())


CASES = [
    (_model, [1, 0], 1, "bce"),
    (_model, [[1, 0], [0.5, -1]], [[1], [0]], "mse"),
    (lambda: ns.Sequential(ns.Linear(3, 4, rng=0), ns.ReLU(), ns.Linear(4, 3, rng=1)), [1, -1, 2], 2, "ce"),
    (lambda: ns.Sequential(ns.Linear(2, 1, rng=0)), [1, 2], 1, "bce_with_logits"),
    (lambda: ns.Sequential(ns.Linear(2, 1, rng=0)), [1, 2], 1, "l2"),
]


def _repeated(lines):
    return {h: n for h, n in Counter(lines).items() if n > 1}


def _text_headings(text):
    """Underlined titles and step titles (unindented lines ending in ``[key]``)."""
    lines = text.splitlines()
    underlined = [a for a, b in itertools.pairwise(lines) if b and set(b) <= {"=", "-"}]
    steps = [m.group(1) for m in (re.match(r"^(\S.*?)   \[\w+\]$", s) for s in lines) if m]
    return underlined, steps


@pytest.mark.parametrize(("make", "x", "y", "loss"), CASES)
def test_explain_prints_each_heading_once(make, x, y, loss):
    ex = ns.explain(make(), x, y, loss=loss)
    titles = [ex.title] + [s.title for s in ex.sections]
    assert not _repeated(titles)
    for sec in ex.sections:
        step_titles = [st.title for st in sec.steps]
        assert sec.title not in step_titles, f"step repeats its section heading {sec.title!r}"
        assert not _repeated(step_titles), sec.title
    underlined, steps = _text_headings(ex.to_text())
    assert not _repeated(underlined) and len(underlined) == len(titles)
    assert not set(underlined) & set(steps)
    md_headings = re.findall(r"^#+ (.+)$", ex.to_markdown(), flags=re.M)
    assert not _repeated(md_headings) and md_headings == titles


def test_loss_step_is_named_after_the_loss():
    ex = ns.explain(_model(), [1, 0], 1, loss="bce")
    assert ex.step("loss").title == "Binary cross-entropy"
    assert "## Loss\n" in ex.to_markdown() and "**Loss**" not in ex.to_markdown().split("## Answers")[0]


def test_check_work_prints_each_heading_once():
    model = _model()
    ex = ns.explain(model, [1, 0], 1, loss="bce")
    answers = {"z1": ex["z1"], "a1": np.array([0.1, 0.2]), "loss": ex.loss}
    report = ns.check_work(model, [1, 0], 1, loss="bce", lr=0.1, answers=answers)
    text = report.to_text()
    headings = [s for s in text.splitlines() if s and not s[0].isspace() and not set(s) <= {"="}]
    assert not _repeated(headings)
    assert "First wrong step: a1" in headings
    title = ex.step("a1").title
    assert sum(s.strip().startswith(title) for s in text.splitlines()) == 1  # the step heading only
    md = report.to_markdown()
    assert not _repeated(re.findall(r"^#+ (.+)$", md, flags=re.M))
    assert md.count(f"**{title}**") == 1

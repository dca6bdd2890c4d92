""" "Check my work": compare a student's numbers with the engine and name the first wrong step.

The student gives answers by name (``"z1"``, ``"a1"``, ``"delta2"``, ``"dW1"``, ``"W1_new"``...,
the keys of :meth:`WorkedExample.keys`) or a backward function; every given quantity is compared
entry by entry with the engine, in computation order (forward, loss, backward, update), and the
first wrong one is named with its expected and given values and the formula that computes it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnscratch.base.errors import ConfigError, DTypeError
from nnscratch.base.validation import as_array, check_positive, describe
from nnscratch.worked.render_markdown import render_step_markdown
from nnscratch.worked.render_text import render_step

from .explainer import explain
from .mathfmt import fmt_num, inline_array
from .worked import WorkedExample

_LAYOUT_KEYS = ("W", "dW", "dL_dW")


@dataclass
class EntryCheck:
    """The comparison of one quantity."""

    key: str
    title: str
    order: int
    expected: np.ndarray
    given: np.ndarray | None
    ok: bool
    max_error: float = 0.0
    wrong: list[tuple[tuple[int, ...], float, float]] = field(default_factory=list)
    message: str = ""


class CheckReport:
    """Result of :func:`check_work`: truthy when every given quantity is right.

    Attributes
    ----------
    entries : list of EntryCheck
        One per given quantity, in computation order.
    first_wrong : EntryCheck or None
        The earliest wrong quantity: later ones often only inherit its error.
    worked : WorkedExample
        The engine's worked solution, for the formulas.
    """

    def __init__(self, entries: list[EntryCheck], worked: WorkedExample, tol: float) -> None:
        self.entries = sorted(entries, key=lambda e: e.order)
        self.worked = worked
        self.tol = tol

    @property
    def passed(self) -> bool:
        return all(e.ok for e in self.entries)

    def __bool__(self) -> bool:
        return self.passed

    @property
    def first_wrong(self) -> EntryCheck | None:
        return next((e for e in self.entries if not e.ok), None)

    @property
    def wrong(self) -> list[str]:
        return [e.key for e in self.entries if not e.ok]

    def _summary(self) -> str:
        n, bad = len(self.entries), len(self.wrong)
        if not bad:
            return f"All {n} checked quantities match the engine (tolerance {self.tol:g})."
        first = self.first_wrong
        assert first is not None
        return f"{bad} of {n} checked quantities differ; the first wrong step is {first.key} ({first.title})."

    def _entry_lines(self, e: EntryCheck) -> list[str]:
        d = self.worked.decimals
        lines = [f"expected: {inline_array(e.expected, d)}"]
        if e.given is not None:
            lines.append(f"given:    {inline_array(e.given, d)}")
        if e.message:
            lines.append(e.message)
        for idx, exp, giv in e.wrong[:8]:
            where = ", ".join(str(i + 1) for i in idx)
            lines.append(f"entry ({where}): expected {fmt_num(exp, d)}, given {fmt_num(giv, d)}")
        return lines

    def to_text(self) -> str:
        out = ["Check of your work", "==================", self._summary(), ""]
        width = max((len(e.key) for e in self.entries), default=4)
        for e in self.entries:
            status = "ok" if e.ok else "WRONG"
            out.append(f"  {e.key:<{width}}  {status:<5}  max error {e.max_error:.2e}  {e.title}")
        first = self.first_wrong
        if first is not None:
            out += ["", f"First wrong step: {first.key}"]  # its title heads "How it is computed"
            out += ["  " + line for line in self._entry_lines(first)]
            out += ["", "How it is computed:"]
            out += ["  " + line for line in render_step(self.worked.step(first.key), self.worked.decimals)]
            if len(self.wrong) > 1:
                out += ["", "Later differences may only inherit this one: fix it and check again."]
        return "\n".join(out) + "\n"

    def to_markdown(self) -> str:
        out = [
            "## Check of your work",
            "",
            self._summary(),
            "",
            "| step | result | max error | quantity |",
            "|---|---|---|---|",
        ]
        for e in self.entries:
            out.append(f"| `{e.key}` | {'ok' if e.ok else '**wrong**'} | {e.max_error:.2e} | {e.title} |")
        first = self.first_wrong
        if first is not None:
            out += ["", f"### First wrong step: `{first.key}`", ""]
            out += [f"- {line}" for line in self._entry_lines(first)]
            out += [
                "",
                "How it is computed:",
                "",
                render_step_markdown(self.worked.step(first.key), self.worked.decimals),
            ]
        return "\n".join(out) + "\n"

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"CheckReport(passed={self.passed}, checked={len(self.entries)}, wrong={self.wrong})"


def _fit_shape(
    key: str, given: np.ndarray, expected: np.ndarray, layout: str
) -> tuple[np.ndarray | None, str]:
    """``given`` reshaped to ``expected``'s display shape, or None and why not."""
    if given.shape == expected.shape:
        return given, ""
    if given.size == expected.size and (expected.ndim < 2 or 1 in expected.shape):
        return given.reshape(expected.shape), ""  # a vector, in any orientation
    is_weight = any(key.startswith(p) and key[len(p) : len(p) + 1].isdigit() for p in _LAYOUT_KEYS)
    if given.ndim == 2 and given.shape == expected.T.shape:
        if is_weight:
            other = "in_out" if layout == "out_in" else "out_in"
            return None, (
                f"shape {given.shape} is the transpose of the expected {expected.shape} in layout "
                f"{layout!r}; if you write weights the other way, pass layout={other!r}."
            )
        return given.T, "given with samples as rows; compared transposed."
    return None, f"shape {given.shape} does not fit the expected {expected.shape}."


def _compare(
    key: str, title: str, order: int, expected: np.ndarray, raw: Any, tol: float, layout: str
) -> EntryCheck:
    try:
        given = np.asarray(as_array(raw, f"answers[{key!r}]"), dtype=np.float64)
    except DTypeError as exc:
        return EntryCheck(key, title, order, expected, None, False, float("inf"), message=str(exc))
    fitted, message = _fit_shape(key, given, expected, layout)
    if fitted is None:
        return EntryCheck(key, title, order, expected, given, False, float("inf"), message=message)
    with np.errstate(invalid="ignore"):
        err = np.abs(fitted - expected)
    err = np.where(np.isfinite(err), err, np.inf)
    bad = np.atleast_1d(err > tol * np.maximum(1.0, np.abs(expected)))
    exp_1d, giv_1d = np.atleast_1d(expected), np.atleast_1d(fitted)
    wrong = [
        (tuple(int(i) for i in idx), float(exp_1d[idx]), float(giv_1d[idx]))
        for idx in zip(*np.nonzero(bad), strict=True)
    ]
    return EntryCheck(
        key, title, order, expected, fitted, not bad.any(), float(err.max(initial=0.0)), wrong, message
    )


def _student_params(worked: WorkedExample) -> dict[str, np.ndarray]:
    params: dict[str, np.ndarray] = {}
    for lt in worked.trace.layers:
        params[f"W{lt.index}"] = worked[f"W{lt.index}"]
        if lt.b is not None:
            params[f"b{lt.index}"] = worked[f"b{lt.index}"].reshape(-1)
    return params


def check_work(
    model: Any,
    x: Any,
    y: Any,
    loss: Any,
    lr: float | None = None,
    optimizer: Any = None,
    answers: Mapping[str, Any] | None = None,
    backward: Callable[[dict[str, np.ndarray], np.ndarray, np.ndarray], Mapping[str, Any]] | None = None,
    tol: float = 5e-4,
    layout: str = "out_in",
    decimals: int = 4,
) -> CheckReport:
    """Compare hand-computed quantities with the engine's and name the first wrong step.

    Parameters
    ----------
    model, x, y, loss, lr, optimizer, layout, decimals
        As for :func:`nnscratch.explain` (the answers are read in this ``layout``).
    answers : mapping, optional
        Quantity name -> value, e.g. ``{"z1": [1.7, 2.5, 1.7], "delta2": -0.026, "dW1": ...}``.
        Names are the keys of the worked example (``explain(...).keys()``); vectors may be given
        in any orientation, matrices in the chosen layout.
    backward : callable, optional
        The student's own function ``backward(params, x, y) -> {name: value}``, where ``params``
        maps ``"W1"``, ``"b1"``, ... to copies of the parameters (weights in ``layout``, biases
        1-D), and ``x``, ``y`` are copies of the arrays passed here.
    tol : float
        An entry is right when ``|given - expected| <= tol * max(1, |expected|)``; the default
        accepts answers rounded to 4 decimals.

    Returns
    -------
    CheckReport
    """
    tol = check_positive(tol, "tol")
    if answers is None and backward is None:
        raise ConfigError("check_work needs answers={name: value} or a backward function. Received neither.")
    worked = explain(model, x, y, loss=loss, lr=lr, optimizer=optimizer, decimals=decimals, layout=layout)
    given: dict[str, Any] = {}
    if backward is not None:
        if not callable(backward):
            raise DTypeError(
                f"backward must be a function backward(params, x, y) -> dict. Received: {backward!r}"
            )
        result = backward(
            _student_params(worked), np.array(x, dtype=np.float64), np.array(y, dtype=np.float64)
        )
        if not isinstance(result, Mapping):
            raise DTypeError(f"backward must return a dict of name -> value. Received: {describe(result)}")
        given.update(result)
    if answers is not None:
        if not isinstance(answers, Mapping):
            raise DTypeError(f"answers must be a dict of name -> value. Received: {describe(answers)}")
        for key in answers:
            if key in given:
                raise ConfigError(f"{key!r} is given both in answers and by the backward function.")
        given.update(answers)
    order = {k: i for i, k in enumerate(worked.keys())}
    entries = []
    for raw_key, value in given.items():
        key = worked.resolve(raw_key)
        step = worked.step(key)
        entries.append(_compare(key, step.title, order[key], step.value, value, tol, layout))
    return CheckReport(entries, worked, tol)


__all__ = ["CheckReport", "EntryCheck", "check_work"]

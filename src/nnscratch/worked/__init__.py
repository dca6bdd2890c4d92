"""Worked examples: any small network's forward and backward pass explained step by step.

- :func:`explain` runs the real engine on a copy of a model and returns a
  :class:`WorkedExample` (formula, numbers substituted, result for every quantity), rendered to
  Markdown, LaTeX, plain text or Jupyter.
- :func:`check_work` compares a student's numbers (or backward function) with the engine and
  names the first wrong step.
- :func:`derivation` gives the general derivation of a layer, activation or loss.
- ``Activation.from_expression("relu(x) + sin(x)")`` (see
  :mod:`nnscratch.engine.layers.symbolic`, needs sympy).
- :func:`load_problem` / :func:`explain_problem` read a TOML problem file (needs pydantic).

This package imports neither sympy nor pydantic nor typer until a feature needs them.
"""

from __future__ import annotations

from typing import Any

from .check import CheckReport, check_work
from .derivations import Derivation, derivation, list_derivations
from .explainer import explain
from .worked import WorkedExample


def load_problem(path: Any) -> Any:
    """Read and validate a TOML problem file (see :mod:`nnscratch.worked.problem`)."""
    # problem files are validated with pydantic, an optional package ns.explain does without
    from .problem import load_problem as _load

    return _load(path)


def explain_problem(path: Any) -> WorkedExample:
    """The worked example of a TOML problem file."""
    # problem files are validated with pydantic, an optional package ns.explain does without
    from .problem import explain_problem as _explain

    return _explain(path)


__all__ = [
    "CheckReport",
    "Derivation",
    "WorkedExample",
    "check_work",
    "derivation",
    "explain",
    "explain_problem",
    "list_derivations",
    "load_problem",
]

"""Every experiment-file key with its type, default and meaning, read off the schema.

``nnscratch keys`` prints :func:`keys_text`; ``docs/experiment-keys.md`` is
:func:`keys_markdown` (a test keeps the page equal to it). The meanings are the fields' attribute
docstrings in the table modules (:mod:`nnscratch.experiments.tables`
and the modules it re-exports from), so the schema is the only place they are written.
"""

from __future__ import annotations

import re
import textwrap
import types
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from .config import ExperimentConfig

_SCALARS = {int: "integer", float: "number", str: "string", bool: "true/false"}
_BOUNDS = ((at.Ge, "≥", "ge"), (at.Gt, ">", "gt"), (at.Le, "≤", "le"), (at.Lt, "<", "lt"))


@dataclass(frozen=True)
class Key:
    """One key of an experiment file: ``table.name``, its type, default and meaning."""

    key: str
    type: str
    default: str
    meaning: str


@dataclass(frozen=True)
class Table:
    """One ``[table]`` of an experiment file with its keys."""

    name: str
    summary: str
    keys: list[Key]


def _type_name(annotation: Any) -> str:
    """A short reader's name for a field's type: ``integer``, ``list of integers``, ``"a" or "b"``."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _type_name(args[0])
    if origin is Literal:
        return " or ".join(f'"{a}"' for a in args)
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args if a is not type(None))
    if origin is list:
        inner = _type_name(args[0])
        return f"list of {inner}s" if " " not in inner else f"list of ({inner})"
    if origin is dict:
        return "table"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "table"
    return _SCALARS.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _bounds(field: FieldInfo) -> str:
    """The range a number must lie in (``≥ 1``, ``> 0, < 1``), from the field's constraints."""
    parts = []
    for meta in field.metadata:
        for kind, symbol, attr in _BOUNDS:
            if isinstance(meta, kind):
                parts.append(f"{symbol} {getattr(meta, attr)}")
    return ", ".join(parts)


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    else:
        value = field.default
    if value is PydanticUndefined:
        return "required"
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, BaseModel):
        return "the table's defaults"
    return str(value).replace("'", '"')


def _nested(annotation: Any) -> type[BaseModel] | None:
    """The table model inside a field's type (``SchedulerTable | None`` -> ``SchedulerTable``)."""
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _summary(model: type[BaseModel]) -> str:
    """The first paragraph of a table's docstring, its ``[table]:`` lead and reST roles removed."""
    first = " ".join((model.__doc__ or "").strip().split("\n\n")[0].split())
    first = re.sub(r"^``\[[\w.]+\]``: ", "", first)
    first = re.sub(r":\w+:`([^`]+)`", r"\1", first).replace("``", "`")
    return first[:1].upper() + first[1:]


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def _tables(model: type[BaseModel], prefix: str) -> list[Table]:
    keys, below = [], []
    for name, field in model.model_fields.items():
        dotted = f"{prefix}.{name}"
        kind = _type_name(field.annotation)
        bounds = _bounds(field)
        keys.append(Key(dotted, f"{kind} {bounds}".strip(), _default(field), _one_line(field.description)))
        inner = _nested(field.annotation)
        if inner is not None:
            below.extend(_tables(inner, dotted))
    return [Table(prefix, _summary(model), keys), *below]


def experiment_keys() -> list[Table]:
    """The tables of an experiment file in file order, each with its keys."""
    tables: list[Table] = []
    for name, field in ExperimentConfig.model_fields.items():
        inner = _nested(field.annotation)
        if inner is None:  # [sweep]: its keys are the dotted keys it varies
            summary = "A grid: every combination of the listed values is trained and reported side by side."
            meaning = 'The values tried for one dotted key, e.g. "optimizer.lr" = [0.01, 0.1].'
            tables.append(Table(name, summary, [Key(f"{name}.<dotted key>", "list", "none", meaning)]))
            continue
        tables.extend(_tables(inner, name))
    return tables


def keys_text() -> str:
    """The keys as plain text for a terminal, one block per table."""
    lines = []
    for table in experiment_keys():
        lines += [
            f"[{table.name}]",
            *textwrap.wrap(table.summary, 100, initial_indent="  ", subsequent_indent="  "),
        ]
        for key in table.keys:
            lines += [f"  {key.key} : {key.type} = {key.default}"]
            lines += textwrap.wrap(key.meaning, 100, initial_indent="      ", subsequent_indent="      ")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def keys_markdown() -> str:
    """The keys as the Markdown page ``docs/experiment-keys.md``."""
    out = [
        "# Experiment-file keys",
        "",
        "Every key an experiment file accepts, generated from the schema (the field docstrings of",
        "`src/nnscratch/experiments/tables.py` and the modules it imports); `nnscratch keys` prints",
        "the same list.",
        "Keys left out take their default; *unset* means the library decides (see the meaning).",
        "",
    ]
    for table in experiment_keys():
        out += [f"## `[{table.name}]`", "", table.summary, ""]
        out += ["| key | type | default | meaning |", "|---|---|---|---|"]
        for key in table.keys:
            cells = (f"`{key.key}`", key.type, f"`{key.default}`", key.meaning.replace("|", "\\|"))
            out.append("| " + " | ".join(c.replace("\n", " ") for c in cells) + " |")
        out.append("")
    return "\n".join(out)


__all__ = ["Key", "Table", "experiment_keys", "keys_markdown", "keys_text"]

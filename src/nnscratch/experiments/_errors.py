"""Turn pydantic's validation errors into located, readable :class:`ConfigError` messages.

A message names the file (and line when it can be found), the dotted key, what was expected and
what was received::

    moons.toml:14: optimizer.lr: expected a number > 0. Received: lr = -1

An unknown name (activation, loss, optimizer...) keeps the message of the engine's name tables
(:class:`~nnscratch.base.errors.UnknownNameError`, the same wherever the name is given), after the
place::

    moons.toml:9: optimizer.name: unknown optimizer 'adamm'. Did you mean 'adam'? Known ...
"""

from __future__ import annotations

import difflib
import re
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from nnscratch.base.errors import ConfigError, UnknownNameError

from ._toml import _value


class Located(ValueError):
    """A validator error that points at a key below the table being validated: a dotted key, or
    a tuple of its parts (list indices as ints, e.g. ``("model", "layers", 0, "out_features")``)."""

    def __init__(self, key: str | tuple[Any, ...], message: str) -> None:
        super().__init__(message)
        self.key = key

    @property
    def parts(self) -> tuple[Any, ...]:
        return self.key if isinstance(self.key, tuple) else tuple(self.key.split("."))


def dotted(loc: tuple[Any, ...]) -> str:
    """``("model", "layers", 1, "type")`` -> ``model.layers[1].type``; quotes keys holding dots."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = f'"{part}"' if "." in str(part) else str(part)
            out += ("." if out else "") + name
    return out or "(top level)"


def _show(value: Any) -> str:
    try:
        text = _value(value)
    except TypeError:
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _model_at(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model class describing the table at ``loc`` (list indices skipped)."""
    model: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            return None
        model = _unwrap(model.model_fields[part].annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """The BaseModel inside ``X | None`` or ``list[X]``, else the annotation itself."""
    for arg in typing.get_args(annotation) or ():
        inner = _unwrap(arg)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return inner
    return annotation


def _expected(err: dict[str, Any], root: type[BaseModel]) -> str:
    kind, ctx, loc = err["type"], err.get("ctx") or {}, err["loc"]
    simple = {
        "missing": "a value: this key is required",
        "int_type": "an integer",
        "int_parsing": "an integer",
        "int_from_float": "an integer (no decimal point)",
        "float_type": "a number",
        "float_parsing": "a number",
        "finite_number": "a finite number (not inf or nan)",
        "bool_type": "true or false",
        "bool_parsing": "true or false",
        "string_type": 'a string in quotes, e.g. "tanh"',
        "list_type": "a list, e.g. [1, 2]",
        "tuple_type": "a list, e.g. [0.9, 0.999]",
        "dict_type": "a table",
        "model_type": "a table",
        "model_attributes_type": "a table",
    }
    if kind in simple:
        return simple[kind]
    if kind == "extra_forbidden":
        key = loc[-1]
        model = _model_at(root, loc[:-1])
        if model is None:
            return f"no key {key!r} here (unknown key)"
        allowed = list(model.model_fields)
        close = difflib.get_close_matches(str(key), allowed, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return f"one of the known keys {', '.join(allowed)} (unknown key {key!r}).{hint}".rstrip(".")
    bounds = {
        "greater_than": ("a number >", "gt"),
        "greater_than_equal": ("a number >=", "ge"),
        "less_than": ("a number <", "lt"),
        "less_than_equal": ("a number <=", "le"),
    }
    if kind in bounds:
        words, key = bounds[kind]
        return f"{words} {ctx.get(key)}"
    if kind == "literal_error":
        return f"one of {ctx.get('expected')}"
    if kind == "too_short":
        return f"at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"at most {ctx.get('max_length')} item(s)"
    if kind in ("string_too_short", "string_too_long"):
        if kind == "string_too_short":
            return f"a string of at least {ctx.get('min_length')} character(s)"
        return f"a string of at most {ctx.get('max_length')} character(s)"
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", err["msg"]))
    return err["msg"][0].lower() + err["msg"][1:]


# -- finding the line of a key in the TOML text ------------------------------------------------
_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_ASSIGN = re.compile(
    r"^\s*((?:\"[^\"]*\"|'[^']*'|[A-Za-z0-9_-]+)(?:\s*\.\s*(?:\"[^\"]*\"|'[^']*'|[A-Za-z0-9_-]+))*)\s*="
)
_PART = re.compile(r"\"[^\"]*\"|'[^']*'|[A-Za-z0-9_-]+")


def _parts(text: str) -> list[str]:
    return [p.strip("\"'") for p in _PART.findall(text)]


def find_line(text: str, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the key (or table header) at ``loc`` in TOML ``text``; best effort."""
    target = tuple(loc)
    table: tuple[Any, ...] = ()
    counts: dict[tuple[Any, ...], int] = {}
    header_line: dict[tuple[Any, ...], int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        head = _HEADER.match(line)
        if head:
            path = tuple(_parts(head.group(2)))
            if head.group(1) == "[[":
                counts[path] = counts.get(path, -1) + 1
                table = (*path, counts[path])
            else:
                table = path
            header_line.setdefault(table, number)
            continue
        assign = _ASSIGN.match(line)
        if assign:
            full = (*table, *_parts(assign.group(1)))
            if full == target:
                return number
            if table == ("sweep",) and target[:1] == ("sweep",) and (*table, ".".join(full[1:])) == target:
                return number
            header_line.setdefault(full, number)  # `params = { noise = ... }` holds params.noise
    while target:
        if target in header_line:
            return header_line[target]
        target = target[:-1]
    return None


def to_config_error(
    exc: ValidationError,
    root: type[BaseModel],
    source: str,
    text: str | None = None,
    overrides: dict[str, Any] | None = None,
    prefix: str = "",
    sweep: bool = False,
) -> ConfigError:
    """``overrides`` are the ``--set`` values (or, with ``sweep=True``, one sweep point's values):
    an error in one of them is located there rather than in the file."""
    details = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        inner = (err.get("ctx") or {}).get("error")
        if isinstance(inner, Located):
            loc = (*loc, *inner.parts)
        key = dotted(loc)
        where = source
        line = None
        override = _matching_override(loc, overrides or {})
        if override is not None and sweep:
            line = find_line(text, ("sweep", override)) if text is not None else None
            where = f"{source}:{line}" if line is not None else source
        elif override is not None:
            where = f"--set {override}={_show(overrides[override])}"
        elif text is not None:
            line = find_line(text, loc)
            if line is not None:
                where = f"{source}:{line}"
        received = err.get("input")
        last = loc[-1] if loc and not isinstance(loc[-1], int) else None
        shown = (
            f"{last} = {_show(received)}"
            if last is not None and not isinstance(received, dict)
            else _show(received)
        )
        if isinstance(inner, UnknownNameError):  # the name tables' own message, after the place
            message = f"{where}: {prefix}{key}: {inner}"
        else:
            expected = _expected(err, root)
            if err["type"] == "missing" or isinstance(received, dict) or "Received:" in expected:
                shown = ""
            message = f"{where}: {prefix}{key}: expected {expected}"
            message = (message if message.endswith("?") else message.rstrip(".") + ".") + (
                f" Received: {shown}" if shown else ""
            )
        details.append({"key": key, "line": line, "message": message, "type": err["type"]})
    first = details[0]["message"]
    if len(details) > 1:
        first += f" (and {len(details) - 1} more: {', '.join(d['key'] for d in details[1:])})"
    error = ConfigError(first)
    error.details = details  # type: ignore[attr-defined]
    return error


def _matching_override(loc: tuple[Any, ...], overrides: dict[str, Any]) -> str | None:
    key = dotted(loc).replace('"', "")
    for name in overrides:
        if key == name or key.startswith((name + ".", name + "[")) or name.startswith(key + "."):
            return name
    return None


__all__ = ["Located", "dotted", "find_line", "to_config_error"]

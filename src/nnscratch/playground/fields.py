"""Checks for what the page sends: a bounded JSON body, finite numbers in range, real integers.

Every check raises :class:`~nnscratch.base.errors.HyperparameterError` with a message that names
the field, the expected range and the value received, so the server answers 400 with that
message and never a 500 with a Python exception name.
"""

from __future__ import annotations

import json
import math
from typing import Any

from nnscratch.base.errors import HyperparameterError

MAX_JSON_DEPTH = 8  # the deepest real request is {"hidden": [..]}: depth 2
MAX_JSON_BYTES = 64_000


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, float) or math.isfinite(value) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def json_depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in ``raw``, read without parsing it (strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # closing quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def _no_constant(name: str) -> Any:
    raise HyperparameterError(f"numbers must be finite: JSON {name} is not accepted")


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """The request body as a dict; size and nesting are bounded before the parser sees it."""
    if len(raw) > MAX_JSON_BYTES:
        raise HyperparameterError(f"the request body is {len(raw)} bytes; the limit is {MAX_JSON_BYTES}")
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise HyperparameterError(f"the request body is nested more than {MAX_JSON_DEPTH} levels deep")
    try:
        data = json.loads(raw or b"{}", parse_constant=_no_constant)
    except HyperparameterError:
        raise
    except json.JSONDecodeError as exc:
        raise HyperparameterError(
            f"the request body is not valid JSON: {exc.msg} at character {exc.pos}"
        ) from None
    except (ValueError, UnicodeDecodeError):  # an integer of more than 4300 digits, or not UTF-8
        raise HyperparameterError("the request body is not valid JSON: a number is far too long") from None
    if not isinstance(data, dict):
        raise HyperparameterError("the request body must be a JSON object")
    return data


def number(name: str, value: Any, low: float, high: float, *, low_open: bool = False) -> float:
    """``value`` as a finite float in [low, high] (or (low, high] with ``low_open``)."""
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}]"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise HyperparameterError(f"{name} must be a number in {interval}. Received: {name}={_show(value)}")
    try:
        x = float(value)
    except OverflowError:  # an int beyond float range
        x = math.inf if value > 0 else -math.inf
    inside = (low < x if low_open else low <= x) and x <= high
    if not (math.isfinite(x) and inside):
        raise HyperparameterError(f"{name} must be a number in {interval}. Received: {name}={_show(value)}")
    return x


def integer(name: str, value: Any, low: int, high: int) -> int:
    """``value`` as an int in [low, high]; a float is accepted only when it is a whole number (4.0)."""
    message = f"{name} must be a whole number in [{low}, {high}]. Received: {name}={_show(value)}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise HyperparameterError(message)
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise HyperparameterError(message)
    if not low <= value <= high:
        raise HyperparameterError(message)
    return int(value)


def choice(name: str, value: Any, options: tuple[str, ...] | list[str]) -> str:
    if not isinstance(value, str) or value not in options:
        raise HyperparameterError(f"{name} must be one of {list(options)}. Received: {name}={_show(value)}")
    return value


def text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 40:
        raise HyperparameterError(f"{name} must be a name (text). Received: {name}={_show(value)}")
    return value


def sequence(name: str, value: Any, max_len: int) -> list[Any]:
    if not isinstance(value, list) or len(value) > max_len:
        raise HyperparameterError(
            f"{name} must be a list of at most {max_len} entries. Received: {name}={_show(value)}"
        )
    return value


__all__ = ["choice", "integer", "json_depth", "number", "parse_json_object", "sequence", "text"]

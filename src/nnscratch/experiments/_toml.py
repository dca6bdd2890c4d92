"""A small TOML writer for resolved experiment configs (the standard library only reads TOML).

Handles what a config holds: strings, booleans, ints, floats (including inf/nan), lists, nested
tables and arrays of tables (``[[model.layers]]``). ``None`` values are left out: TOML has no null.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: str) -> str:
    return k if _BARE_KEY.match(k) else json.dumps(k)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # JSON string escapes are valid TOML basic strings
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v if x is not None) + "]"
    if isinstance(v, dict):
        items = ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items() if x is not None)
        return "{ " + items + " }" if items else "{}"
    raise TypeError(f"cannot write {type(v).__name__} to TOML: {v!r}")


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def _emit(table: dict[str, Any], path: list[str], out: list[str]) -> None:
    scalars = {k: v for k, v in table.items() if v is not None and not isinstance(v, dict)}
    scalars = {k: v for k, v in scalars.items() if not _is_table_array(v)}
    for k, v in scalars.items():
        out.append(f"{_key(k)} = {_value(v)}")
    for k, v in table.items():
        if isinstance(v, dict):
            sub = [*path, k]
            out.append("")
            out.append("[" + ".".join(_key(p) for p in sub) + "]")
            _emit(v, sub, out)
        elif _is_table_array(v):
            sub = [*path, k]
            for item in v:
                out.append("")
                out.append("[[" + ".".join(_key(p) for p in sub) + "]]")
                _emit(item, sub, out)


def dumps(data: dict[str, Any]) -> str:
    """Serialise a nested dict to TOML text that ``tomllib.loads`` reads back to the same dict
    (minus ``None`` values)."""
    out: list[str] = []
    _emit(data, [], out)
    return "\n".join(out).lstrip("\n") + "\n"


__all__ = ["dumps"]

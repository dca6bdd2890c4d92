"""Dotted keys: ``--set optimizer.lr=0.1`` overrides and the ``[sweep]`` grid's keys.

A dotted key names one entry of the config's nested tables: ``"optimizer.lr"`` is ``cfg["optimizer"]["lr"]``.
Keys under ``sweep.`` are special: what follows is itself one grid key, so
``--set sweep.optimizer.lr=[0.1,1.0]`` sets ``cfg["sweep"]["optimizer.lr"]``.
"""

from __future__ import annotations

import copy
import re
import tomllib
from typing import Any

from nnscratch.base.errors import ConfigError

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_BARE_WORD = re.compile(r"^[A-Za-z_./~][A-Za-z0-9_./~+-]*$")


def split_key(key: str) -> list[str]:
    """Split a dotted key: ``"optimizer.lr"`` -> ``["optimizer", "lr"]``, but
    ``"sweep.optimizer.lr"`` -> ``["sweep", "optimizer.lr"]`` (a grid key is one key)."""
    parts = key.split(".")
    if parts[0] == "sweep" and len(parts) > 1:
        return ["sweep", ".".join(parts[1:])]
    return parts


def parse_value(text: str) -> Any:
    """Parse ``text`` as a TOML literal (``0.1``, ``true``, ``[4, 8]``, ``"tanh"``); a bare word
    that is not valid TOML (``tanh``, ``data/x.csv``) is taken as a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        if _BARE_WORD.match(text):
            return text
        raise


def parse_set(item: str) -> tuple[str, Any]:
    """Parse one ``KEY=VALUE`` override, raising :class:`ConfigError` with the expected form."""
    key, sep, raw = item.partition("=")
    key = key.strip()
    raw = raw.strip()
    if not sep or not key or not raw:
        raise ConfigError(
            f"--set {item!r}: expected KEY=VALUE with a dotted key and a TOML value, e.g. "
            f"optimizer.lr=0.1 or model.hidden=[8,8]. Received: {item!r}"
        )
    if not _KEY.match(key):
        raise ConfigError(
            f"--set {item!r}: the key must be dotted names such as training.epochs. Received: key {key!r}"
        )
    try:
        value = parse_value(raw)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"--set {item!r}: the value is not a TOML literal ({exc}); quote strings, write lists as "
            f"[1, 2]. Received: {raw!r}"
        ) from None
    return key, value


def set_dotted(config: dict[str, Any], key: str, value: Any) -> None:
    """Set ``config[a][b]... = value`` for ``key = "a.b..."``, creating tables as needed."""
    parts = split_key(key)
    node = config
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            where = ".".join(parts[: i + 1])
            raise ConfigError(
                f"--set {key}: {where} is a value, not a table, so it has no key {parts[i + 1]!r}. "
                f"Received: {where} = {child!r}"
            )
        node = child
    node[parts[-1]] = value


def get_dotted(config: dict[str, Any], key: str, default: Any = None) -> Any:
    node: Any = config
    for part in split_key(key):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def with_overrides(config: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``config`` with every ``dotted key: value`` of ``overrides`` applied."""
    out = copy.deepcopy(config)
    for key, value in overrides.items():
        set_dotted(out, key, copy.deepcopy(value))
    return out


def flatten_sweep(table: Any, prefix: str = "") -> Any:
    """Flatten ``[sweep]``: nested tables (``optimizer.lr = [...]`` unquoted) become dotted keys."""
    if not isinstance(table, dict):
        return table
    flat: dict[str, Any] = {}
    for key, value in table.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten_sweep(value, full + "."))
        else:
            flat[full] = value
    return flat


__all__ = [
    "flatten_sweep",
    "get_dotted",
    "parse_set",
    "parse_value",
    "set_dotted",
    "split_key",
    "with_overrides",
]

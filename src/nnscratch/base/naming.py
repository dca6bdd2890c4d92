"""Tables of names: how a user picks an activation, a loss, an optimizer... by name.

A :class:`NameTable` holds, for one kind of thing, its canonical names, their aliases and what each
stands for. Look-ups ignore case, ``-``, ``_`` and spaces (``"Leaky-ReLU"`` is ``leaky_relu``) and,
where the table has a suffix, a trailing one (``"MSELoss"`` is ``mse``). An unknown name raises
:class:`~nnscratch.base.errors.UnknownNameError` with one message wherever the name was given::

    unknown optimizer 'adamm'. Did you mean 'adam'? Known optimizers: sgd (or gd), momentum, adam,
    adamw, rmsprop. Received: optimizer='adamm'

The tables themselves live in :mod:`nnscratch.engine.names`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .errors import DTypeError, UnknownNameError

V = TypeVar("V")
_LONGEST = 80  # longer names are cut in messages (a file may hold anything)


@dataclass(frozen=True)
class Entry(Generic[V]):
    """One canonical name, what it stands for, its aliases and the keyword arguments it implies
    (``"momentum"`` is SGD with ``momentum=0.9`` unless given)."""

    name: str
    value: V
    aliases: tuple[str, ...] = ()
    defaults: Mapping[str, Any] = field(default_factory=dict)

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


def fold(name: str) -> str:
    """The form names are compared in: lower case, without ``-``, ``_`` and spaces."""
    return "".join(ch for ch in name.lower() if ch not in "-_ \t")


def suggest(name: str, options: Iterable[str]) -> str | None:
    """The option closest to ``name`` (case-insensitive), or None when none is close."""
    options = list(options)
    by_lower = {o.lower(): o for o in options}
    close = difflib.get_close_matches(str(name).lower(), list(by_lower), n=1)
    return by_lower[close[0]] if close else None


class NameTable(Mapping[str, V]):
    """The names of one ``kind`` of thing.

    As a mapping its keys are every accepted spelling, as written in the table (canonical names
    and aliases), and its values what they stand for. ``entries`` is a list of :class:`Entry`, or
    a function returning one (read at every look-up: for tables that grow, such as layer types).
    ``key`` is the word the message's ``Received:`` uses (``init`` for initializers).
    """

    def __init__(
        self,
        kind: str,
        entries: Iterable[Entry[V]] | Callable[[], Iterable[Entry[V]]],
        *,
        key: str | None = None,
        plural: str | None = None,
        suffix: str = "",
    ) -> None:
        self.kind = kind
        self.key = key or kind
        self.plural = plural or kind + "s"
        self.suffix = fold(suffix)
        self._source = entries if callable(entries) else None
        self._static = None if callable(entries) else self._index(list(entries))

    # -- the entries ---------------------------------------------------------------------------
    def _index(self, entries: list[Entry[V]]) -> tuple[list[Entry[V]], dict[str, Entry[V]]]:
        folded: dict[str, Entry[V]] = {}
        for entry in entries:
            for spelling in entry.spellings:
                other = folded.setdefault(fold(spelling), entry)
                if other is not entry:
                    raise ValueError(f"{self.kind} names {other.name!r} and {spelling!r} read the same")
        return entries, folded

    def _current(self) -> tuple[list[Entry[V]], dict[str, Entry[V]]]:
        if self._static is not None:
            return self._static
        assert self._source is not None
        return self._index(list(self._source()))

    def entries(self) -> list[Entry[V]]:
        """Every entry, in the table's order."""
        return list(self._current()[0])

    def names(self) -> list[str]:
        """The canonical names, in the table's order."""
        return [e.name for e in self._current()[0]]

    def listing(self) -> str:
        """``"sgd (or gd), momentum, adam"``: the names with their aliases, for messages and docs."""
        return ", ".join(
            e.name + (f" (or {', '.join(e.aliases)})" if e.aliases else "") for e in self._current()[0]
        )

    # -- look-ups ------------------------------------------------------------------------------
    def find(self, name: Any) -> Entry[V] | None:
        """The entry ``name`` spells, or None."""
        if not isinstance(name, str):
            return None
        folded = self._current()[1]
        key = fold(name)
        if key in folded:
            return folded[key]
        if self.suffix and key.endswith(self.suffix) and len(key) > len(self.suffix):
            return folded.get(key[: -len(self.suffix)])
        return None

    def entry(self, name: Any) -> Entry[V]:
        """The entry ``name`` spells; :class:`UnknownNameError` when there is none."""
        if not isinstance(name, str):
            raise DTypeError(
                f"{self.key} must be the name of {_article(self.kind)} {self.kind} (a string). "
                f"Received: {self.key}={name!r}"
            )
        found = self.find(name)
        if found is None:
            raise self.unknown(name)
        return found

    def canonical(self, name: Any) -> str:
        """The canonical spelling of ``name`` (``"bce_logits"`` -> ``"bce_with_logits"``)."""
        return self.entry(name).name

    def lookup(self, name: Any) -> V:
        """What ``name`` stands for."""
        return self.entry(name).value

    def name_of(self, value: Any) -> str | None:
        """The first canonical name standing for ``value``, or None."""
        return next((e.name for e in self._current()[0] if e.value is value), None)

    def unknown(self, name: str) -> UnknownNameError:
        """The error for a name this table does not know."""
        spellings = [s for e in self._current()[0] for s in e.spellings]
        close = suggest(name, spellings) if len(name) <= _LONGEST else None
        hint = f" Did you mean {close!r}?" if close else ""
        shown = repr(name) if len(name) <= _LONGEST else repr(name[:_LONGEST]) + "..."
        return UnknownNameError(
            f"unknown {self.kind} {shown}.{hint} Known {self.plural}: {self.listing()}. "
            f"Received: {self.key}={shown}",
            kind=self.kind,
            name=name,
            known=self.names(),
            suggestion=close,
        )

    # -- Mapping -------------------------------------------------------------------------------
    def _spellings(self) -> dict[str, V]:
        return {s: e.value for e in self._current()[0] for s in e.spellings}

    def __getitem__(self, name: str) -> V:
        return self._spellings()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._spellings())

    def __len__(self) -> int:
        return len(self._spellings())

    def __repr__(self) -> str:
        return f"NameTable({self.kind!r}: {self.listing()})"


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


__all__ = ["Entry", "NameTable", "fold", "suggest"]

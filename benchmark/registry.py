"""A name -> entry mapping that answers unknown names with the nearest valid ones."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


def closest_name(name: object, valid: list[str]) -> str | None:
    """The valid name ``name`` most likely meant: the same but for case ('ID' for
    'id', which difflib's ratio misses), else difflib's closest match."""
    same_case = [v for v in valid if v.lower() == str(name).lower()]
    close = same_case or difflib.get_close_matches(str(name), valid, n=1)
    return close[0] if close else None


def unknown_name_message(kind: str, name: str, valid: list[str]) -> str:
    message = f"unknown {kind} {name!r}"
    close = closest_name(name, valid)
    if close:
        message += f" (did you mean {close!r}?)"
    return message + f"; valid: {', '.join(sorted(valid))}"


class Registry(Generic[T]):
    """Entries registered by name; later issues add entries without touching callers."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str, entry: T) -> T:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(unknown_name_message(self.kind, name, list(self._entries))) from None

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def items(self) -> list[tuple[str, T]]:
        return sorted(self._entries.items())

    def names(self) -> list[str]:
        return sorted(self._entries)

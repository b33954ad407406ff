"""A small generic registry: names -> factories, with errors that list valid names."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from sign2text.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to objects (usually factories).

    >>> r: Registry[int] = Registry("number")
    >>> r.add("one", 1)
    >>> r.get("one")
    1
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def add(self, name: str, item: T) -> None:
        if name in self._items:
            raise ConfigError(f"{self.kind} {name!r} is already registered")
        self._items[name] = item

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of :meth:`add`."""

        def deco(item: T) -> T:
            self.add(name, item)
            return item

        return deco

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            valid = ", ".join(sorted(self._items)) or "(none)"
            raise ConfigError(f"unknown {self.kind} {name!r}; valid names: {valid}") from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)


def pipeline_step(spec: Mapping[str, Any]) -> tuple[str, float, dict[str, Any]]:
    """One config entry of a random pipeline, ``{"name", "p", **kwargs}`` ->
    (name, probability in [0, 1], the remaining keyword arguments)."""
    kw = dict(spec)
    if "name" not in kw:
        raise ConfigError(f"augmentation entry without a name: {dict(spec)}")
    name = str(kw.pop("name"))
    try:
        p = float(kw.pop("p", 1.0))
    except (TypeError, ValueError):
        raise ConfigError(f"{name}.p must be a number") from None
    if not 0.0 <= p <= 1.0:
        raise ConfigError(f"{name}.p must be in [0, 1], got {p}")
    return name, p, kw

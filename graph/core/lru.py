"""A bounded map, least recently used out (plans, validated documents, verified tokens)."""

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

DEFAULT_SIZE = 2048

V = TypeVar("V")


class LruCache(Generic[V]):
    """A bounded map, least recently used out."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self._size = size
        self._items: OrderedDict[Hashable, V] = OrderedDict()

    def get(self, key: Hashable) -> tuple[bool, V | None]:
        if key not in self._items:
            return False, None
        self._items.move_to_end(key)
        return True, self._items[key]

    def put(self, key: Hashable, value: V) -> None:
        self._items[key] = value
        if len(self._items) > self._size:
            self._items.popitem(last=False)

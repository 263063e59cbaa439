"""Objects of any area built from rows by type name, so that an area can answer another
area's type (`Patient.appointments`, `Appointment.patient`, `node(id:)`) without importing it.

Each area's types module registers its classes; `build("Patient", row)` makes the object from
the type's declaration (graph/api/builders.py, models/declarations.py).
"""

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import RowMapping

from graph.api.builders import row_builder
from graph.api.relay import Node

T = TypeVar("T")

_CLASSES: dict[str, type[Any]] = {}


def register(cls: type[T]) -> type[T]:
    """Make `cls` buildable by its name (a class decorator)."""
    _CLASSES[cls.__name__] = cls
    return cls


def build(type_name: str, row: RowMapping) -> Any:
    """The `type_name` object (e.g. "Patient") of a row of its table."""
    return row_builder(_CLASSES[type_name])(row)


def builder(type_name: str) -> Callable[[RowMapping], Any]:
    """`build` for one type, to convert the rows of a page or list."""
    return lambda row: build(type_name, row)


def is_node(type_name: str) -> bool:
    """Whether `node(id:)` may answer a `type_name` (a registered type implementing Node)."""
    cls = _CLASSES.get(type_name)
    return cls is not None and issubclass(cls, Node)

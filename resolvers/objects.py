"""Objects of any area built from rows by type name, so that an area can answer another
area's type (`Patient.appointments`, `Appointment.patient`, `node(id:)`) without importing it.

Each area's types module registers its classes; `build("Patient", row)` makes the object.
"""

from collections.abc import Callable
from functools import partial
from typing import Any, Protocol, TypeVar

from sqlalchemy import RowMapping


class FromRow(Protocol):
    """A type that knows how to build itself from a row."""

    @classmethod
    def from_row(cls, row: RowMapping) -> Any: ...


RowType = TypeVar("RowType", bound=FromRow)

_BUILDERS: dict[str, Callable[[RowMapping], Any]] = {}


def register(cls: type[RowType]) -> type[RowType]:
    """Make `cls` buildable by its name (a class decorator)."""
    _BUILDERS[cls.__name__] = cls.from_row
    return cls


def build(type_name: str, row: RowMapping) -> Any:
    """The `type_name` object (e.g. "Patient") of a row of its table."""
    return _BUILDERS[type_name](row)


def builder(type_name: str) -> Callable[[RowMapping], Any]:
    """`build` for one type, to convert the rows of a page or list."""
    return partial(build, type_name)

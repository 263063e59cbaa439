"""Objects of any area built from rows by type name, so that an area can answer another
area's type (`Patient.appointments`, `Appointment.patient`, `node(id:)`) without importing it.

Each area's types module registers its classes (graph/api/object_types.py);
`build("Patient", row)` makes the object from the type's declaration (graph/api/builders.py,
models/declarations.py).
"""

from collections.abc import Callable
from typing import Any

from sqlalchemy import RowMapping

from graph.api.builders import row_builder
from graph.api.object_types import object_type
from graph.api.relay import Node


def build(type_name: str, row: RowMapping) -> Any:
    """The `type_name` object (e.g. "Patient") of a row of its table."""
    cls = object_type(type_name)
    if cls is None:
        raise LookupError(f"{type_name} is not a registered type")
    builds_itself = getattr(cls, "from_row", None)  # a type without a declaration
    return builds_itself(row) if builds_itself is not None else row_builder(cls)(row)


def builder(type_name: str) -> Callable[[RowMapping], Any]:
    """`build` for one type, to convert the rows of a page or list."""
    return lambda row: build(type_name, row)


def is_node(type_name: str) -> bool:
    """Whether `node(id:)` may answer a `type_name` (a registered type implementing Node)."""
    cls = object_type(type_name)
    return cls is not None and issubclass(cls, Node)

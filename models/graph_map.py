"""How GraphQL fields map onto tables: declared once, beside the tables, read by both the
resolvers (to build objects from rows) and the query compiler (to build SQL that returns the
response JSON). Field names are the GraphQL (camelCase) names."""

from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import Table

ScalarKind = Literal["text", "int", "bool", "uuid", "date", "datetime", "decimal", "enum", "json"]


@dataclass(frozen=True)
class Scalar:
    """A column, shown as is (enums: upper-cased; timestamps: ISO 8601 in UTC)."""

    name: str
    kind: ScalarKind = "text"


@dataclass(frozen=True)
class GlobalId:
    """The Relay global ID of the row: base64url("TypeName:<id>")."""

    type_name: str


@dataclass(frozen=True)
class Computed:
    """A value computed from the row; `sql` uses `{t}` for the row's alias."""

    sql: str


@dataclass(frozen=True)
class ToOne:
    """The row another table's `foreign_key` points at (null when not visible)."""

    target: str
    foreign_key: str
    nullable: bool = True


@dataclass(frozen=True)
class Children:
    """Rows of `target` whose `parent_key` is this row's id, ordered by `sort` (unique last);
    a Relay connection, or a plain list when `connection` is false."""

    target: str
    parent_key: str
    sort: tuple[str, ...]
    connection: bool = True


FieldMap = Scalar | GlobalId | Computed | ToOne | Children


@dataclass(frozen=True)
class TypeMap:
    name: str
    table: Table
    fields: dict[str, FieldMap] = field(default_factory=dict)

    def scalars(self) -> dict[str, Scalar]:
        return {name: f for name, f in self.fields.items() if isinstance(f, Scalar)}

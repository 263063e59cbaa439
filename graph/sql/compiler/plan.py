"""What a compilation produces: a `Plan` (one SQL statement with one `text[]` parameter and
how to compute its elements), and the variable shape a plan is valid for."""

import base64
import binascii
import datetime
import hashlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from functools import cached_property
from typing import Any

from graph.core.cursors import CursorCodec
from graph.core.identity import Identity
from models.declarations import DECLARATIONS

# Put where a non-null relation came back null: the resolvers answer that with an error, so
# the request goes through them instead.
MISSING = "__fisioflow_missing__"

# Where a mutation plan finds the validated row among the values its getters read.
ROW = "__row__"
# Where getters find the server's cursor codec (graph/core/cursors.py): its key, never in the
# SQL (plans are shared by every caller), reaches the statement as a parameter.
CURSORS = "__cursors__"


class Unsupported(Exception):
    """The operation is not compiled; the resolvers run it."""


class Refused(Unsupported):
    """An argument value the API refuses (the resolvers answer it with the error). Not a
    property of the variables' shape: no plan is remembered for it."""


Variables = Mapping[str, Any]
Getter = Callable[[Variables], Any]


@dataclass
class Plan:
    """SQL with one parameter, `$1::text[]`, and how to compute each of its elements from the
    variables (and, for a mutation, the caller). `derived`: values computed once per run
    before the elements (a checked `where` tree, by a key no variable can have), which the
    getters read from the variables; one that raises `Unsupported` declines the run.

    One text array rather than typed `$n` parameters: the fast path runs the statement
    prepared, through `gql_execute`, which can pass on one array but not a varying list of
    typed values. Each element is cast back in the SQL (`($1::text[])[2]::uuid`), and with
    the values known, PostgreSQL folds those casts to constants when it plans.
    """

    sql: str
    getters: list[Getter]
    mutation: Callable[[Identity, Variables], dict[str, Any]] | None = None
    derived: Mapping[str, Getter] = field(default_factory=dict)

    @cached_property
    def name(self) -> str:
        """The name it is prepared under (one per distinct statement)."""
        return "gql_" + hashlib.blake2b(self.sql.encode(), digest_size=12).hexdigest()

    def arguments(
        self, variables: Variables, cursors: CursorCodec, identity: Identity | None = None
    ) -> list[str | None]:
        """The parameter's elements, for these variables, with the server's cursor key (and,
        for a mutation, the caller)."""
        variables = {**variables, CURSORS: cursors}
        if self.mutation is not None:
            if identity is None:
                raise Unsupported("a mutation needs the caller")
            variables = {**variables, ROW: self.mutation(identity, variables)}
        if self.derived:
            variables = {**variables, **{key: get(variables) for key, get in self.derived.items()}}
        return [_as_text(get(variables)) for get in self.getters]


def _as_text(value: Any) -> str | None:
    """A parameter value in PostgreSQL's input syntax for the type the SQL casts it to."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            raise Unsupported("a timestamp without a time zone")
        return value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if type(value) in (str, int, Decimal, uuid.UUID):  # not an Enum: str() would name it
        return str(value)
    if isinstance(value, list | tuple):  # an array literal: `{"a","b"}`
        return "{" + ",".join(_array_element(_as_text(item)) for item in value) + "}"
    raise Unsupported(f"a parameter of type {type(value).__name__}")


def _array_element(text: str | None) -> str:
    if text is None:
        return "NULL"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def shape_of(variables: Variables) -> tuple[tuple[str, str], ...]:
    """What of the variables a plan depends on: which are null (in input objects too), the
    type in an ID, the items of a list of input objects (`and`, `or`) and of a list of enum
    values (`orderBy`); not the length of a list of other values (`in`: `= any(array)`)."""
    return tuple(sorted((name, _value_shape(value)) for name, value in variables.items()))


def _value_shape(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return "str:" + (global_id_type(value) or "")
    if isinstance(value, Mapping):  # an input object: which fields are set shapes the SQL
        return "{" + ",".join(f"{k}:{_value_shape(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, list):
        if any(isinstance(item, Mapping | list | Enum) for item in value):
            return "[" + ",".join(_item_shape(item) for item in value) + "]"
        return "list" if value else "list:empty"
    return type(value).__name__


def _item_shape(item: Any) -> str:
    if isinstance(item, Enum):
        return f"{type(item).__name__}.{item.name}"
    return _value_shape(item)


def global_id_type(value: str) -> str | None:
    """The declared type a global ID names; None for anything else."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    type_name, _, _ = raw.partition(":")
    return type_name if type_name in DECLARATIONS else None

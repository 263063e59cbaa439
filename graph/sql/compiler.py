"""The query compiler: a read operation → one SQL statement that returns the response JSON.

It reads the field → column declarations of models/ (the same ones the resolvers use) and
builds nested `json_build_object` / `json_agg` SQL: to-one relations as correlated subselects,
connections as keyset pages (per parent for nested lists; one row more, numbered with
`row_number()`, only when hasNextPage/hasPreviousPage is asked for), and cursors, global IDs
and timestamps formatted by SQL functions that match graph/sql/pagination.py, graph/core/ids.py and
Strawberry's serializers byte for byte. The statement runs in the caller's RLS transaction,
so it sees exactly what the resolvers would. Lists take the `filter` fields registered in
`FILTERS` (declared beside the resolvers' own conditions). Registered mutations (`MUTATIONS`)
compile to `WITH t AS (INSERT ... RETURNING *)` after the resolver's own validation of the
input. Values reach the statement as one `text[]` parameter (see `Plan`).

Anything it does not know — a field without a declaration, arguments other than the page
ones and declared filters, directives, an argument value the resolvers would refuse — raises
`Unsupported`, and the operation runs through the resolvers instead; those also serve as the
oracle in the differential tests. A plan depends on the document and on which variables (and
input-object fields) are null (and, for `node(id:)`, on the type named in the ID), never on
the caller: RLS does the rest.
"""

import base64
import binascii
import datetime
import hashlib
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

import orjson
from graphql import (
    BooleanValueNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    NullValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
)
from graphql.utilities import get_operation_ast
from sqlalchemy import Table

from graph.core.errors import ApiError
from graph.core.identity import Identity
from graph.core.ids import parse_uuid_id
from graph.sql.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, decode_cursor, from_micros
from models.accounts import CLINIC, PHYSIOTHERAPIST
from models.graph_map import Children, Computed, GlobalId, Scalar, ToOne, TypeMap
from models.patients import PATIENT
from models.payments import PAYMENT
from models.scheduling import APPOINTMENT

TYPE_MAPS: dict[str, TypeMap] = {
    m.name: m for m in (CLINIC, PATIENT, PHYSIOTHERAPIST, APPOINTMENT, PAYMENT)
}

# Top-level lists: field → (type, sort columns); the same orders as the resolvers'.
ROOT_LISTS: dict[str, tuple[TypeMap, tuple[str, ...]]] = {
    "patients": (PATIENT, ("name", "id")),
    "physiotherapists": (PHYSIOTHERAPIST, ("name", "id")),
    "appointments": (APPOINTMENT, ("starts_at", "id")),
    "payments": (PAYMENT, ("created_at", "id")),
}

PAGE_ARGUMENTS = frozenset({"first", "after", "last", "before"})
INTERFACES = {"Node"}

# Put where a non-null relation came back null: the resolvers answer that with an error, so
# the request goes through them instead.
MISSING = "__fisioflow_missing__"


class Unsupported(Exception):
    """The operation is not compiled; the resolvers run it."""


Variables = Mapping[str, Any]
Getter = Callable[[Variables], Any]


@dataclass(frozen=True)
class CompiledMutation:
    """A mutation the compiler runs as one `INSERT ... RETURNING` that builds the response:
    `values` is the resolver's own validation (it raises the resolver's errors), turning the
    caller and the `input` argument into the row to insert."""

    type_map: TypeMap
    input_type: type
    columns: tuple[str, ...]
    values: Callable[[Identity, Any], dict[str, Any]]


# Root mutation fields the compiler knows (graph/schema.py registers them).
MUTATIONS: dict[str, CompiledMutation] = {}


@dataclass(frozen=True)
class FilterCondition:
    """One field of a list's `filter` input as SQL: `sql` with `{t}` for the row's alias and
    `{v}` for the value, which arrives as `sql_type`. `convert` checks and converts the
    coerced input value as the resolver does, raising the resolver's error for a bad one
    (the request then goes to the resolvers, which answer it)."""

    sql: str
    sql_type: str
    convert: Callable[[Any], Any]


def one_of(column: str) -> FilterCondition:
    """A list of enum values: the row's `column` is one of them."""
    return FilterCondition(
        f"{{t}}.{column} = any({{v}})", "text[]", lambda values: [value.value for value in values]
    )


def id_of(column: str, type_name: str, field: str) -> FilterCondition:
    """The global ID of a `type_name`: the row's `column` holds its id."""
    return FilterCondition(
        f"{{t}}.{column} = {{v}}",
        "uuid",
        lambda value: parse_uuid_id(value, type_name, field=field),
    )


# The `filter` fields the compiler knows, by the listed type (graph/schema.py registers them,
# declared beside the resolvers' own conditions). A field set to anything but null or an
# empty list that is not here sends the operation to the resolvers.
FILTERS: dict[str, Mapping[str, FilterCondition]] = {}

# Where a mutation plan finds the validated row among the values its getters read.
ROW = "__row__"


@dataclass
class Plan:
    """SQL with one parameter, `$1::text[]`, and how to compute each of its elements from the
    variables (and, for a mutation, the caller).

    One text array rather than typed `$n` parameters: the fast path runs the statement
    prepared, through `gql_execute`, which can pass on one array but not a varying list of
    typed values. Each element is cast back in the SQL (`($1::text[])[2]::uuid`), and with
    the values known, PostgreSQL folds those casts to constants when it plans.
    """

    sql: str
    getters: list[Getter]
    mutation: Callable[[Identity, Variables], dict[str, Any]] | None = None

    @cached_property
    def name(self) -> str:
        """The name it is prepared under (one per distinct statement)."""
        return "gql_" + hashlib.blake2b(self.sql.encode(), digest_size=12).hexdigest()

    def arguments(self, variables: Variables, identity: Identity | None = None) -> list[str | None]:
        if self.mutation is not None:
            if identity is None:
                raise Unsupported("a mutation needs the caller")
            variables = {**variables, ROW: self.mutation(identity, variables)}
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


def shape_of(variables: Variables) -> tuple[tuple[str, str], ...]:
    """What of the variables a plan depends on: which are null, and the type in an ID."""
    return tuple(sorted((name, _value_shape(value)) for name, value in variables.items()))


def _value_shape(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return "str:" + (_global_id_type(value) or "")
    if isinstance(value, Mapping):  # an input object: which fields are set shapes the SQL
        return "{" + ",".join(f"{k}:{_value_shape(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, list):
        return "list" if value else "list:empty"
    return type(value).__name__


def _global_id_type(value: str) -> str | None:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    type_name, _, _ = raw.partition(":")
    return type_name if type_name in TYPE_MAPS else None


def _array_element(text: str | None) -> str:
    if text is None:
        return "NULL"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class _Compiler:
    document: DocumentNode
    variables: Variables
    getters: list[Getter] = field(default_factory=list)
    aliases: int = 0
    fragments: dict[str, FragmentDefinitionNode] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.fragments = {
            d.name.value: d
            for d in self.document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }

    # -- parameters and arguments -------------------------------------------------------

    def param(self, getter: Getter, sql_type: str) -> str:
        self.getters.append(getter)
        return f"($1::text[])[{len(self.getters)}]::{sql_type}"

    def alias(self) -> str:
        self.aliases += 1
        return f"t{self.aliases}"

    def value_getter(self, node: ValueNode) -> tuple[Getter, bool]:
        """How to read an argument at run time, and whether it is null for this plan's shape."""
        if isinstance(node, VariableNode):
            name = node.name.value
            return (lambda v: v.get(name)), self.variables.get(name) is None
        if isinstance(node, NullValueNode):
            return (lambda v: None), True
        if isinstance(node, IntValueNode):
            number = int(node.value)
            return (lambda v: number), False
        if isinstance(node, StringValueNode):
            text = node.value
            return (lambda v: text), False
        if isinstance(node, BooleanValueNode):
            flag = node.value
            return (lambda v: flag), False
        raise Unsupported("argument value")

    def arguments(self, node: FieldNode) -> dict[str, tuple[Getter, bool]]:
        return {a.name.value: self.value_getter(a.value) for a in node.arguments or ()}

    # -- selections -----------------------------------------------------------------------

    def fields_of(
        self, selection_set: SelectionSetNode | None, type_name: str
    ) -> Iterator[FieldNode]:
        if selection_set is None:
            raise Unsupported("missing selection")
        seen: set[str] = set()
        for node in self._flatten(selection_set, type_name):
            key = (node.alias or node.name).value
            if key in seen:
                raise Unsupported("merged fields")
            seen.add(key)
            yield node

    def _flatten(self, selection_set: SelectionSetNode, type_name: str) -> Iterator[FieldNode]:
        for selection in selection_set.selections:
            if selection.directives:
                raise Unsupported("directives")
            if isinstance(selection, FieldNode):
                yield selection
                continue
            if isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = selection.selection_set
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                if fragment.directives:
                    raise Unsupported("directives")
                condition, inner = fragment.type_condition, fragment.selection_set
            else:
                raise Unsupported("selection")
            wanted = condition.name.value if condition else type_name
            if wanted == type_name or wanted in INTERFACES:
                yield from self._flatten(inner, type_name)
            elif wanted not in TYPE_MAPS and wanted != "Query":
                raise Unsupported("fragment on an unknown type")

    # -- SQL ------------------------------------------------------------------------------

    def root(self, selection_set: SelectionSetNode) -> str:
        pairs = []
        for node in self.fields_of(selection_set, "Query"):
            name = node.name.value
            if name == "__typename":
                value = "'Query'"
            elif name == "node":
                value = self.node(node)
            elif name in ROOT_LISTS:
                type_map, sort = ROOT_LISTS[name]
                value = self.connection(type_map, sort, node, parent=None)
            else:
                raise Unsupported(name)
            pairs.append(f"'{_key(node)}', {value}")
        return f"select json_build_object({', '.join(pairs)})::text"

    def mutation(
        self, selection_set: SelectionSetNode, convert_input: Callable[[Any, type], Any]
    ) -> Plan:
        """`mutation { field(input: $input) { ... } }` → `WITH t AS (INSERT ... RETURNING *)`."""
        fields = list(self.fields_of(selection_set, "Mutation"))
        if len(fields) != 1 or fields[0].name.value not in MUTATIONS:
            raise Unsupported("mutation")
        node = fields[0]
        declared = MUTATIONS[node.name.value]
        arguments = node.arguments or ()
        if len(arguments) != 1 or arguments[0].name.value != "input":
            raise Unsupported("mutation arguments")
        argument = arguments[0].value
        if not isinstance(argument, VariableNode):
            raise Unsupported("an inline input")
        name = argument.name.value
        table = declared.type_map.table

        def row(identity: Identity, variables: Variables) -> dict[str, Any]:
            try:
                values = declared.values(
                    identity, convert_input(variables[name], declared.input_type)
                )
            except ApiError as refusal:  # the resolvers answer it, with its path
                raise Unsupported("refused input") from refusal
            if set(values) != set(declared.columns):
                raise Unsupported("unexpected columns")
            return values

        columns = declared.columns
        values = [self.param(_row_value(column), _sql_type(table, column)) for column in columns]
        inserted, a = self.alias(), self.alias()
        body = self.object(declared.type_map, a, node.selection_set)
        sql = (
            f"with {inserted} as (insert into {table.name} ({', '.join(columns)})"
            f" values ({', '.join(values)}) returning *)"
            f" select json_build_object('{_key(node)}', (select {body} from {inserted} {a}))::text"
        )
        return Plan(sql, self.getters, row)

    def node(self, node: FieldNode) -> str:
        arguments = self.arguments(node)
        if set(arguments) != {"id"} or arguments["id"][1]:
            raise Unsupported("node arguments")
        get_id, _ = arguments["id"]
        current = get_id(self.variables)
        type_name = _global_id_type(current) if isinstance(current, str) else None
        if type_name is None:
            raise Unsupported("node id")
        type_map = TYPE_MAPS[type_name]

        def row_id(variables: Variables) -> uuid.UUID:
            value = get_id(variables)
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
            name, _, local = raw.partition(":")
            if name != type_name:
                raise Unsupported("node id type")
            return uuid.UUID(local)

        a = self.alias()
        key = self.param(_guarded(row_id), "uuid")
        body = self.object(type_map, a, node.selection_set)
        return f"(select {body} from {type_map.table.name} {a} where {a}.id = {key})"

    def object(self, type_map: TypeMap, t: str, selection_set: SelectionSetNode | None) -> str:
        pairs = []
        for node in self.fields_of(selection_set, type_map.name):
            name = node.name.value
            if name == "__typename":
                value = f"'{type_map.name}'"
            else:
                declared = type_map.fields.get(name)
                if declared is None:
                    raise Unsupported(f"{type_map.name}.{name}")
                value = self.field(declared, t, node)
            pairs.append(f"'{_key(node)}', {value}")
        return f"json_build_object({', '.join(pairs)})"

    def field(self, declared: Any, t: str, node: FieldNode) -> str:
        if not isinstance(declared, Children) and node.arguments:
            raise Unsupported("arguments")
        if isinstance(declared, Scalar):
            return _scalar(declared, t)
        if isinstance(declared, GlobalId):
            return f"gql_global_id('{declared.type_name}', {t}.id)"
        if isinstance(declared, Computed):
            return "(" + declared.sql.format(t=t) + ")"
        if isinstance(declared, ToOne):
            target = TYPE_MAPS.get(declared.target)
            if target is None:
                raise Unsupported(declared.target)
            a = self.alias()
            body = self.object(target, a, node.selection_set)
            sql = (
                f"(select {body} from {target.table.name} {a}"
                f" where {a}.id = {t}.{declared.foreign_key})"
            )
            return sql if declared.nullable else f"coalesce({sql}, to_json('{MISSING}'::text))"
        if isinstance(declared, Children):
            target = TYPE_MAPS.get(declared.target)
            if target is None:
                raise Unsupported(declared.target)
            if declared.connection:
                return self.connection(target, declared.sort, node, parent=(declared.parent_key, t))
            return self.plain_list(target, declared, t, node)
        raise Unsupported("field kind")

    def plain_list(self, target: TypeMap, declared: Children, t: str, node: FieldNode) -> str:
        a = self.alias()
        body = self.object(target, a, node.selection_set)
        order = ", ".join(f"{a}.{c}" for c in declared.sort)
        return (
            f"coalesce((select json_agg({body} order by {order}) from {target.table.name} {a}"
            f" where {a}.{declared.parent_key} = {t}.id), '[]'::json)"
        )

    def connection(
        self,
        type_map: TypeMap,
        sort: tuple[str, ...],
        node: FieldNode,
        parent: tuple[str, str] | None,
    ) -> str:
        arguments = self.arguments(node)
        if set(arguments) - PAGE_ARGUMENTS - {"filter"}:
            raise Unsupported("list arguments")
        given = {name for name, (_, is_null) in arguments.items() if not is_null}
        if {"first", "last"} <= given:
            raise Unsupported("first and last")
        backward = "last" in given or ("before" in given and "first" not in given)
        size_name = "last" if backward else "first"
        cursor_name = "before" if backward else "after"
        if size_name not in given:
            limit = str(DEFAULT_PAGE_SIZE)
        elif (size := _literal_int(node, size_name)) is not None:
            # Written in the document (part of the plan's key): in the SQL, so the planner
            # sees the page size, as it would in a hand-written statement.
            limit = str(_guarded(_page_size(lambda _: size))({}))
        else:
            limit = self.param(_guarded(_page_size(arguments[size_name][0])), "int")

        table = type_map.table
        a, b = self.alias(), self.alias()
        conditions = []
        if parent is not None:
            parent_key, parent_alias = parent
            conditions.append(f"{a}.{parent_key} = {parent_alias}.id")
        if "filter" in arguments:
            conditions.extend(self.filter_conditions(type_map, arguments["filter"], a))
        count_conditions = [c.replace(f"{a}.", "x.") for c in conditions]
        has_cursor = cursor_name in given
        if has_cursor:
            get_cursor = arguments[cursor_name][0]
            values = [
                self.param(
                    _guarded(_cursor_part(get_cursor, table, sort, i, cursor_name)),
                    _sql_type(table, c),
                )
                for i, c in enumerate(sort)
            ]
            columns = ", ".join(f"{a}.{c}" for c in sort)
            conditions.append(f"({columns}) {'<' if backward else '>'} ({', '.join(values)})")
        direction = "desc" if backward else "asc"
        order = ", ".join(f"{a}.{c} {direction}" for c in sort)
        where = f" where {' and '.join(conditions)}" if conditions else ""
        display = ", ".join(f"{b}.{c}" for c in sort)
        key = ", ".join(_cursor_sql(table, b, c) for c in sort)
        cursor = f"gql_base64url(json_build_array('{table.name}', {key})::text)"
        more = self._asks_for_more(node, backward)
        in_page = f"filter (where {b}._n <= {limit})" if more else ""
        # The page's rows carry only their sort key and the nodes' JSON, built on the row.
        row_columns = [f"{a}.{c}" for c in sort]

        def node_column(selection_set: SelectionSetNode | None) -> str:
            name = f"_node{len(row_columns)}"
            row_columns.append(f"{self.object(type_map, a, selection_set)} as {name}")
            return f"{b}.{name}"

        parts = []
        aggregated = ("edges", "pageInfo")
        selected_names = set()
        for selected in self.fields_of(node.selection_set, "Connection"):
            name = selected.name.value
            selected_names.add(name)
            if name == "edges":
                edge = self.edge(type_map, node_column, cursor, selected)
                value = f"coalesce(json_agg({edge} order by {display}) {in_page}, '[]'::json)"
            elif name == "pageInfo":
                value = self.page_info(
                    selected, b, cursor, display, in_page, limit, backward, has_cursor
                )
            elif name == "totalCount":
                count_where = f" where {' and '.join(count_conditions)}" if count_conditions else ""
                value = f"(select count(*) from {table.name} x{count_where})"
            elif name == "__typename":
                value = f"'{type_map.name}Connection'"
            else:
                raise Unsupported(name)
            parts.append(f"'{_key(selected)}', {value}")
        if more:
            # One row past the page says whether there is more; it is numbered to leave it out.
            row_columns.append(f"row_number() over (order by {order}) as _n")
        numbered = (
            f"select {', '.join(row_columns)} from {table.name} {a}{where}"
            f" order by {order} limit {limit}{' + 1' if more else ''}"
        )
        # Aggregates give one row even for an empty page; without any (only totalCount or
        # __typename asked for), `group by ()` does.
        grouped = "" if any(n in aggregated for n in selected_names) else " group by ()"
        return f"(select json_build_object({', '.join(parts)}) from ({numbered}) {b}{grouped})"

    def filter_conditions(
        self, type_map: TypeMap, argument: tuple[Getter, bool], a: str
    ) -> list[str]:
        get_filter, is_null = argument
        if is_null:
            return []
        declared = FILTERS.get(type_map.name)
        current = get_filter(self.variables)
        if declared is None or not isinstance(current, Mapping):
            raise Unsupported("filter")
        conditions = []
        for name, value in current.items():
            if value is None or value == []:
                continue
            condition = declared.get(name)
            if condition is None:
                raise Unsupported(f"filter.{name}")
            value_sql = self.param(
                _guarded(_filter_value(get_filter, name, condition.convert)),
                condition.sql_type,
            )
            conditions.append(condition.sql.format(t=a, v=value_sql))
        return conditions

    def _asks_for_more(self, node: FieldNode, backward: bool) -> bool:
        """Whether the selection reads hasNextPage (hasPreviousPage when paging backward)."""
        wanted = "hasPreviousPage" if backward else "hasNextPage"
        return any(
            info.name.value == wanted
            for selected in self.fields_of(node.selection_set, "Connection")
            if selected.name.value == "pageInfo"
            for info in self.fields_of(selected.selection_set, "PageInfo")
        )

    def edge(
        self,
        type_map: TypeMap,
        node_column: Callable[[SelectionSetNode | None], str],
        cursor: str,
        node: FieldNode,
    ) -> str:
        pairs = []
        for selected in self.fields_of(node.selection_set, "Edge"):
            name = selected.name.value
            if name == "cursor":
                value = cursor
            elif name == "node":
                value = node_column(selected.selection_set)
            elif name == "__typename":
                value = f"'{type_map.name}Edge'"
            else:
                raise Unsupported(name)
            pairs.append(f"'{_key(selected)}', {value}")
        return f"json_build_object({', '.join(pairs)})"

    def page_info(
        self,
        node: FieldNode,
        b: str,
        cursor: str,
        display: str,
        in_page: str,
        limit: str,
        backward: bool,
        has_cursor: bool,
    ) -> str:
        more = f"(count(*) > {limit})"
        flag = "true" if has_cursor else "false"
        descending = ", ".join(f"{part} desc" for part in display.split(", "))
        values = {
            "hasNextPage": flag if backward else more,
            "hasPreviousPage": more if backward else flag,
            "startCursor": f"(array_agg({cursor} order by {display}) {in_page})[1]",
            "endCursor": f"(array_agg({cursor} order by {descending}) {in_page})[1]",
            "__typename": "'PageInfo'",
        }
        pairs = []
        for selected in self.fields_of(node.selection_set, "PageInfo"):
            if selected.name.value not in values:
                raise Unsupported(selected.name.value)
            pairs.append(f"'{_key(selected)}', {values[selected.name.value]}")
        return f"json_build_object({', '.join(pairs)})"


def _literal_int(node: FieldNode, argument: str) -> int | None:
    for given in node.arguments or ():
        if given.name.value == argument and isinstance(given.value, IntValueNode):
            return int(given.value.value)
    return None


def _key(node: FieldNode) -> str:
    return (node.alias or node.name).value


def _scalar(declared: Scalar, t: str) -> str:
    column = f"{t}.{declared.name}"
    if declared.kind == "enum":
        return f"upper({column})"
    if declared.kind == "datetime":
        return f"gql_datetime({column})"
    if declared.kind == "decimal":
        return f"{column}::text"
    return column


SQL_TYPES: dict[type, str] = {
    uuid.UUID: "uuid",
    str: "text",
    int: "bigint",
    bool: "boolean",
    Decimal: "numeric",
    datetime.date: "date",
    datetime.datetime: "timestamptz",
}


def _sql_type(table: Table, column: str) -> str:
    return SQL_TYPES[table.c[column].type.python_type]


def _row_value(column: str) -> Getter:
    return lambda variables: variables[ROW][column]


def _cursor_sql(table: Table, alias: str, column: str) -> str:
    if _sql_type(table, column) == "timestamptz":
        return f"gql_cursor_value({alias}.{column})"
    return f"{alias}.{column}"


def _guarded(getter: Getter) -> Getter:
    """A getter whose refusals (bad sizes, cursors, IDs) send the request to the resolvers,
    which answer them with the proper errors."""

    def guarded(variables: Variables) -> Any:
        try:
            return getter(variables)
        except (TypeError, ValueError, KeyError, UnicodeDecodeError, binascii.Error) as error:
            raise Unsupported("argument value") from error

    return guarded


def _filter_value(get_filter: Getter, name: str, convert: Callable[[Any], Any]) -> Getter:
    def value(variables: Variables) -> Any:
        try:
            return convert(get_filter(variables)[name])
        except ApiError as refusal:  # the resolvers answer it, with its path
            raise Unsupported("refused filter") from refusal

    return value


def _page_size(get: Getter) -> Getter:
    def size(variables: Variables) -> int:
        value = get(variables)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_PAGE_SIZE:
            raise ValueError("page size")
        return value

    return size


def _cursor_part(
    get: Getter, table: Table, sort: tuple[str, ...], index: int, field: str
) -> Getter:
    def part(variables: Variables) -> Any:
        value = get(variables)
        if not isinstance(value, str):
            raise TypeError("cursor")
        try:
            values = decode_cursor(value, field)
        except Exception as error:  # a malformed cursor: the resolvers say BAD_USER_INPUT
            raise ValueError("cursor") from error
        if len(values) != len(sort) + 1 or values[0] != table.name:  # another list's
            raise ValueError("cursor")
        kind = _sql_type(table, sort[index])
        raw = values[index + 1]
        if kind == "timestamptz":
            return from_micros(raw)
        if kind == "uuid":
            return uuid.UUID(str(raw))
        if kind == "bigint":
            if not isinstance(raw, int) or isinstance(raw, bool):
                raise TypeError("cursor")
            return raw
        if not isinstance(raw, str):
            raise TypeError("cursor")
        return raw

    return part


def compile_operation(
    document: DocumentNode,
    operation_name: str | None,
    variables: Variables,
    convert_input: Callable[[Any, type], Any] | None = None,
) -> Plan:
    """The plan of a query, or of a registered mutation (Unsupported for anything else).
    `convert_input` turns a coerced input object into the resolver's input class."""
    operation = get_operation_ast(document, operation_name)
    if not isinstance(operation, OperationDefinitionNode) or operation.directives:
        raise Unsupported("no operation")
    compiler = _Compiler(document, variables)
    if operation.operation is OperationType.QUERY:
        return Plan(compiler.root(operation.selection_set), compiler.getters)
    if operation.operation is OperationType.MUTATION and convert_input is not None:
        return compiler.mutation(operation.selection_set, convert_input)
    raise Unsupported("not a query")


def decode_result(text: str) -> dict[str, Any]:
    """The response data; Unsupported if a non-null relation was missing."""
    if MISSING in text:
        raise Unsupported("missing non-null relation")
    data: dict[str, Any] = orjson.loads(text)
    return data

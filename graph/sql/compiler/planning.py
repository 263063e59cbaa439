"""The compiler's walk: a parsed operation → the SQL of a `Plan`, against a `Registry`.

Queries become nested `json_build_object` / `json_agg` SQL: to-one relations as correlated
subselects, connections as keyset pages (per parent for nested lists; one row more, numbered
with `row_number()`, only when hasNextPage/hasPreviousPage is asked for), and cursors, global
IDs and timestamps formatted by SQL functions that match graph/core/cursors.py (sealed with the
server's key, a parameter), graph/core/ids.py and Strawberry's serializers byte for byte. A
registered mutation becomes
`WITH t AS (INSERT ... RETURNING *)` after the resolver's own validation of the input.
"""

import base64
import binascii
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from graphql import (
    BooleanValueNode,
    DocumentNode,
    EnumValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    Undefined,
    ValueNode,
    VariableNode,
    get_nullable_type,
    is_non_null_type,
)
from graphql.utilities import get_operation_ast, value_from_ast
from sqlalchemy import Table

from graph.core.errors import ApiError
from graph.core.identity import Identity
from graph.sql.compiler.aggregates import aggregate_sql
from graph.sql.compiler.plan import (
    CURSORS,
    MISSING,
    ROW,
    Getter,
    Plan,
    Refused,
    Unsupported,
    Variables,
    global_id_type,
)
from graph.sql.compiler.registry import (
    Registry,
    comparison_value,
    comparisons,
    computed_sql,
    skeleton,
    sql_type,
    where_sql,
)
from graph.sql.order import Order, check_order, ordered_sort_key
from graph.sql.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, SortKey
from graph.sql.where import Comparison, check_where
from models.type_map import Children, Computed, GlobalId, Scalar, ToOne, TypeMap

_T = TypeVar("_T")

PAGE_ARGUMENTS = frozenset({"first", "after", "last", "before"})
LIST_ARGUMENTS = PAGE_ARGUMENTS | {"filter", "where", "orderBy"}
INTERFACES = {"Node"}


@dataclass
class _Compiler:
    registry: Registry
    document: DocumentNode
    variables: Variables
    schema: GraphQLSchema | None = None  # the input types of literal arguments
    getters: list[Getter] = field(default_factory=list)
    derived: dict[str, Getter] = field(default_factory=dict)
    aliases: int = 0
    fragments: dict[str, FragmentDefinitionNode] = field(default_factory=dict)
    keys: str | None = None

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

    def cursor_keys(self) -> str:
        """The server's cursor keys (`gql_cursor`'s second argument): one parameter per plan,
        added where a cursor is first selected, decoded once per statement (a subselect: an
        InitPlan, also under a prepared statement's generic plan), not once per row."""
        if self.keys is None:
            self.keys = f"(select decode({self.param(_cursor_keys, 'text')}, 'hex'))"
        return self.keys

    def alias(self) -> str:
        self.aliases += 1
        return f"t{self.aliases}"

    def value_getter(
        self, node: ValueNode, input_type: GraphQLInputType | None = None
    ) -> tuple[Getter, bool]:
        """How to read an argument at run time, and whether it is null for this plan's shape.
        An input object, list or enum written in the document (`where: {status: {eq: $s}}`,
        `orderBy: NAME_ASC`) is read as its `input_type` coerces it, as a variable's value
        arrives."""
        if isinstance(node, ObjectValueNode | ListValueNode | EnumValueNode) and input_type:
            return self.literal_getter(node, input_type), False
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

    def literal_getter(self, node: ValueNode, input_type: GraphQLInputType) -> Getter:
        return _literal(node, input_type)

    def arguments(
        self, node: FieldNode, owner: str | None = None
    ) -> dict[str, tuple[Getter, bool]]:
        """The field's arguments; `owner`: the GraphQL type the field is on (the input types
        of literal arguments are looked up there)."""
        return {
            a.name.value: self.value_getter(a.value, self.argument_type(owner, node, a.name.value))
            for a in node.arguments or ()
        }

    def argument_type(
        self, owner: str | None, node: FieldNode, argument: str
    ) -> GraphQLInputType | None:
        owner_type = self.schema.get_type(owner) if self.schema and owner else None
        if not isinstance(owner_type, GraphQLObjectType):
            return None
        declared = owner_type.fields.get(node.name.value)
        given = declared.args.get(argument) if declared else None
        return given.type if given else None

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
            elif wanted not in self.registry.types and wanted != "Query":
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
            elif name in self.registry.root_lists:
                value = self.connection(
                    self.registry.root_lists[name], node, parent=None, owner="Query"
                )
            elif name in self.registry.aggregates:
                declared = self.registry.aggregates[name]
                value = aggregate_sql(self, self.registry.types, declared, node)
            else:
                raise Unsupported(name)
            pairs.append(f"'{_key(node)}', {value}")
        return f"select json_build_object({', '.join(pairs)})::text"

    def mutation(
        self, selection_set: SelectionSetNode, convert_input: Callable[[Any, type], Any]
    ) -> Plan:
        """`mutation { field(input: $input) { ... } }` → `WITH t AS (INSERT ... RETURNING *)`."""
        fields = list(self.fields_of(selection_set, "Mutation"))
        if len(fields) != 1 or fields[0].name.value not in self.registry.mutations:
            raise Unsupported("mutation")
        node = fields[0]
        declared = self.registry.mutations[node.name.value]
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
        values = [self.param(_row_value(column), sql_type(table, column)) for column in columns]
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
        type_name = global_id_type(current) if isinstance(current, str) else None
        type_map = self.registry.types.get(type_name) if type_name else None
        if type_name is None or type_map is None:
            raise Unsupported("node id")

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
                value = self.field(declared, t, node, type_map.name)
            pairs.append(f"'{_key(node)}', {value}")
        return f"json_build_object({', '.join(pairs)})"

    def field(self, declared: Any, t: str, node: FieldNode, owner: str) -> str:
        if not isinstance(declared, Children) and node.arguments:
            raise Unsupported("arguments")
        if isinstance(declared, Scalar):
            return _scalar(declared, t)
        if isinstance(declared, GlobalId):
            return f"gql_global_id('{declared.type_name}', {t}.id)"
        if isinstance(declared, Computed):
            return "(" + computed_sql(declared.value, t) + ")"
        if isinstance(declared, ToOne):
            target = self.registry.types.get(declared.target)
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
            target = self.registry.types.get(declared.target)
            if target is None:
                raise Unsupported(declared.target)
            if declared.connection:
                return self.connection(target, node, parent=(declared.parent_key, t), owner=owner)
            return self.plain_list(target, declared, t, node)
        raise Unsupported("field kind")

    def plain_list(self, target: TypeMap, declared: Children, t: str, node: FieldNode) -> str:
        if node.arguments:
            raise Unsupported("arguments of a plain list")
        a = self.alias()
        body = self.object(target, a, node.selection_set)
        order = ", ".join(f"{a}.{c}" for c in self.registry.sort(target))
        return (
            f"coalesce((select json_agg({body} order by {order}) from {target.table.name} {a}"
            f" where {a}.{declared.parent_key} = {t}.id), '[]'::json)"
        )

    def connection(
        self, type_map: TypeMap, node: FieldNode, parent: tuple[str, str] | None, owner: str
    ) -> str:
        """A Relay connection: one keyset page of `type_map` rows (of the parent row, for a
        nested list) in the declared order or the `orderBy` one, the page's rows numbered to
        find whether there is more when asked."""
        arguments = self.arguments(node, owner)
        window = self.window(node, arguments)
        sort = ordered_sort_key(type_map.name, self.order(type_map, arguments))
        a, b = self.alias(), self.alias()
        conditions = self.list_conditions(type_map, arguments, a, parent)
        count_conditions = [c.replace(f"{a}.", "x.") for c in conditions]
        if window.cursor is not None:
            conditions.append(self.keyset_condition(sort, a, window))
        more = self._asks_for_more(node, window.backward)
        page = _Page(type_map, sort, a, b, window, more, self.cursor_keys)
        parts = [
            f"'{_key(selected)}', {self.connection_field(page, selected, count_conditions)}"
            for selected in self.fields_of(node.selection_set, "Connection")
        ]
        return page.sql(parts, conditions)

    def window(self, node: FieldNode, arguments: dict[str, tuple[Getter, bool]]) -> "_Window":
        """Which way the page goes, its size (in the SQL when the document writes it, else a
        parameter) and the cursor it starts from."""
        if set(arguments) - LIST_ARGUMENTS:
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
        cursor = arguments[cursor_name][0] if cursor_name in given else None
        return _Window(backward, limit, cursor_name, cursor)

    def list_conditions(
        self,
        type_map: TypeMap,
        arguments: dict[str, tuple[Getter, bool]],
        a: str,
        parent: tuple[str, str] | None,
    ) -> list[str]:
        """The rows of the list: the parent's, and those the `filter` and `where` arguments
        keep."""
        conditions = []
        if parent is not None:
            parent_key, parent_alias = parent
            conditions.append(f"{a}.{parent_key} = {parent_alias}.id")
        if "filter" in arguments:
            conditions.extend(self.filter_conditions(type_map, arguments["filter"], a))
        if "where" in arguments:
            conditions.extend(self.where_conditions(type_map, arguments["where"], a))
        return conditions

    def where_conditions(
        self, type_map: TypeMap, argument: tuple[Getter, bool], a: str
    ) -> list[str]:
        """The `where` tree of this plan's shape as SQL, its values parameters. Each run checks
        the value again (graph/sql/where.py) and declines a tree of another skeleton."""
        get_where, is_null = argument
        if is_null:
            return []
        type_name = type_map.name
        tree = _checked(lambda: check_where(type_name, get_where(self.variables)))
        expected = skeleton(tree)
        key = f"where#{len(self.derived)}"  # no variable is named so

        def values(variables: Variables) -> list[Any]:
            current = _checked(lambda: check_where(type_name, get_where(variables)))
            if skeleton(current) != expected:
                raise Unsupported("a where of another shape")
            return [comparison_value(c) for c in comparisons(current)]

        self.derived[key] = values
        asked: list[Comparison] = []

        def value(comparison: Comparison, cast: str) -> str:
            index = len(asked)
            asked.append(comparison)
            return self.param(lambda variables: variables[key][index], cast)

        sql = where_sql(tree, type_map.table, a, value, self.alias)
        assert asked == list(comparisons(tree)), "placeholders in the order of the values"
        return [] if sql == "true" else [sql]

    def order(self, type_map: TypeMap, arguments: dict[str, tuple[Getter, bool]]) -> Order | None:
        """The `orderBy` of this plan (None: the declared order); each run checks it again and
        declines another."""
        get_order, is_null = arguments.get("orderBy", (None, True))
        if get_order is None or is_null:
            return None
        type_name = type_map.name
        order = _checked(lambda: check_order(type_name, get_order(self.variables)))

        def same_order(variables: Variables) -> None:
            if _checked(lambda: check_order(type_name, get_order(variables))) != order:
                raise Unsupported("another order")

        self.derived[f"order#{len(self.derived)}"] = same_order
        return order

    def keyset_condition(self, sort: SortKey, a: str, window: "_Window") -> str:
        """Rows after (before, paging backward) the cursor's sort key, as `SortKey.after`
        has them: a row comparison when every column ascends and none is nullable, else
        column by column, a null being larger than any value."""
        assert window.cursor is not None
        values = [
            self.param(
                _guarded(_cursor_part(window.cursor, sort, i, window.cursor_name)),
                sql_type(column.table, column.name),
            )
            for i, column in enumerate(sort.columns)
        ]
        names = [f"{a}.{column.name}" for column in sort.columns]
        nullable = [bool(column.nullable) for column in sort.columns]
        if not any(sort.descending) and not any(nullable):
            return f"({', '.join(names)}) {'<' if window.backward else '>'} ({', '.join(values)})"
        clauses = []
        for index, value in enumerate(values):
            equal_before = [
                f"{c} is not distinct from {v}" if n else f"{c} = {v}"
                for c, v, n in zip(names[:index], values[:index], nullable[:index], strict=True)
            ]
            larger = window.backward == sort.descending[index]
            beyond = _beyond(names[index], value, larger, nullable[index])
            clauses.append("(" + " and ".join([*equal_before, beyond]) + ")")
        return "(" + " or ".join(clauses) + ")"

    def connection_field(
        self, page: "_Page", selected: FieldNode, count_conditions: list[str]
    ) -> str:
        name = selected.name.value
        page.selected.add(name)
        if name == "edges":
            edge = self.edge(page.type_map, page.node_column(self), page.sealed, selected)
            return f"coalesce(json_agg({edge} order by {page.display}) {page.in_page}, '[]'::json)"
        if name == "pageInfo":
            return self.page_info(
                selected,
                page.sealed,
                page.display,
                page.reversed,
                page.in_page,
                page.window.limit,
                page.window.backward,
                page.window.cursor is not None,
            )
        if name == "totalCount":
            count_where = f" where {' and '.join(count_conditions)}" if count_conditions else ""
            return f"(select count(*) from {page.type_map.table.name} x{count_where})"
        if name == "__typename":
            return f"'{page.type_map.name}Connection'"
        raise Unsupported(name)

    def filter_conditions(
        self, type_map: TypeMap, argument: tuple[Getter, bool], a: str
    ) -> list[str]:
        get_filter, is_null = argument
        if is_null:
            return []
        declared = self.registry.filters.get(type_map.name)
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
        sealed: Callable[[str], str],
        node: FieldNode,
    ) -> str:
        pairs = []
        for selected in self.fields_of(node.selection_set, "Edge"):
            name = selected.name.value
            if name == "cursor":
                value = sealed("{}")
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
        sealed: Callable[[str], str],
        display: str,
        descending: str,
        in_page: str,
        limit: str,
        backward: bool,
        has_cursor: bool,
    ) -> str:
        more = f"(count(*) > {limit})"
        flag = "true" if has_cursor else "false"
        values: dict[str, Callable[[], str]] = {
            "hasNextPage": lambda: flag if backward else more,
            "hasPreviousPage": lambda: more if backward else flag,
            "startCursor": lambda: sealed(f"(array_agg({{}} order by {display}) {in_page})[1]"),
            "endCursor": lambda: sealed(f"(array_agg({{}} order by {descending}) {in_page})[1]"),
            "__typename": lambda: "'PageInfo'",
        }
        pairs = []
        for selected in self.fields_of(node.selection_set, "PageInfo"):
            if selected.name.value not in values:
                raise Unsupported(selected.name.value)
            pairs.append(f"'{_key(selected)}', {values[selected.name.value]()}")
        return f"json_build_object({', '.join(pairs)})"


@dataclass(frozen=True)
class _Window:
    """Where a page is: its direction, its size (SQL) and the cursor argument it starts at."""

    backward: bool
    limit: str
    cursor_name: str
    cursor: Getter | None


@dataclass
class _Page:
    """One connection's page as SQL: its rows (aliased `a` inside, `b` outside) carry only
    their sort key and the nodes' JSON, built on the row."""

    type_map: TypeMap
    sort: SortKey
    a: str
    b: str
    window: _Window
    more: bool  # one row past the page, numbered to leave it out, says whether there is more
    keys: Callable[[], str]  # the cursor keys' SQL
    row_columns: list[str] = field(default_factory=list)
    selected: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.row_columns = [f"{self.a}.{c}" for c in self.columns]

    @property
    def table(self) -> Table:
        return self.type_map.table

    @property
    def columns(self) -> list[str]:
        return [str(column.name) for column in self.sort.columns]

    def _ordered(self, alias: str, backward: bool, explicit: bool) -> str:
        """ORDER BY of the list's order (reversed when `backward`). PostgreSQL's default
        places nulls as `SortKey.order` does: last ascending, first descending."""
        return ", ".join(
            f"{alias}.{c} desc"
            if descending != backward
            else (f"{alias}.{c} asc" if explicit else f"{alias}.{c}")
            for c, descending in zip(self.columns, self.sort.descending, strict=True)
        )

    @property
    def order(self) -> str:
        return self._ordered(self.a, self.window.backward, explicit=True)

    @property
    def display(self) -> str:
        return self._ordered(self.b, backward=False, explicit=False)

    @property
    def reversed(self) -> str:
        return self._ordered(self.b, backward=True, explicit=False)

    def sealed(self, around: str) -> str:
        """The cursor of the row `around` picks (`{}`: the row's plaintext), sealed; picked
        before sealing, so an aggregate seals one cursor, not one per row."""
        key = ", ".join(_cursor_sql(self.table, self.b, c) for c in self.columns)
        payload = f"json_build_array('{self.sort.kind}', {key})::text"
        return f"gql_cursor({around.replace('{}', payload)}, {self.keys()})"

    @property
    def in_page(self) -> str:
        return f"filter (where {self.b}._n <= {self.window.limit})" if self.more else ""

    def node_column(self, compiler: "_Compiler") -> Callable[[SelectionSetNode | None], str]:
        """How an edge's node is selected: its JSON as a column of the page's rows."""

        def column(selection_set: SelectionSetNode | None) -> str:
            name = f"_node{len(self.row_columns)}"
            body = compiler.object(self.type_map, self.a, selection_set)
            self.row_columns.append(f"{body} as {name}")
            return f"{self.b}.{name}"

        return column

    def sql(self, parts: list[str], conditions: list[str]) -> str:
        if self.more:
            self.row_columns.append(f"row_number() over (order by {self.order}) as _n")
        where = f" where {' and '.join(conditions)}" if conditions else ""
        numbered = (
            f"select {', '.join(self.row_columns)} from {self.table.name} {self.a}{where}"
            f" order by {self.order} limit {self.window.limit}{' + 1' if self.more else ''}"
        )
        # Aggregates give one row even for an empty page; without any (only totalCount or
        # __typename asked for), `group by ()` does.
        aggregated = self.selected & {"edges", "pageInfo"}
        grouped = "" if aggregated else " group by ()"
        return f"(select json_build_object({', '.join(parts)}) from ({numbered}) {self.b}{grouped})"


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


def _row_value(column: str) -> Getter:
    return lambda variables: variables[ROW][column]


def _cursor_sql(table: Table, alias: str, column: str) -> str:
    """A sort-key value as graph/sql/pagination.py's cursors carry it."""
    kind = sql_type(table, column)
    if kind == "timestamptz":
        return f"gql_cursor_value({alias}.{column})"
    if kind == "numeric":
        return f"{alias}.{column}::text"
    return f"{alias}.{column}"


def _beyond(column: str, value: str, larger: bool, nullable: bool) -> str:
    """`column` is past `value` (larger, else smaller), a null being the largest value, as
    graph/sql/pagination.py's `_beyond` with the value known only when the plan runs."""
    if not nullable:  # nor is the value: `_cursor_part` declines a null one
        return f"{column} {'>' if larger else '<'} {value}"
    if larger:
        return f"({value} is not null and ({column} > {value} or {column} is null))"
    return f"(({value} is null and {column} is not null) or {column} < {value})"


def _literal(node: ValueNode, input_type: GraphQLInputType) -> Getter:
    """How a literal argument is coerced on each run, as graphql-core's `value_from_ast` does
    it, with the work done once: what holds no variable is coerced now, and objects and lists
    that hold some are rebuilt around their variables' (already coerced) values."""
    if not _has_variables(node):
        constant = value_from_ast(node, input_type, {})
        if constant is Undefined:
            raise Unsupported("argument value")
        return lambda _: constant
    wanted = get_nullable_type(input_type)
    if isinstance(node, VariableNode):
        return _variable(node.name.value, is_non_null_type(input_type))
    if isinstance(node, ObjectValueNode) and isinstance(wanted, GraphQLInputObjectType):
        return _object(node, wanted)
    if isinstance(node, ListValueNode) and isinstance(wanted, GraphQLList):
        items = [_literal(item, wanted.of_type) for item in node.values]
        return lambda variables: [item(variables) for item in items]
    raise Unsupported("argument value")


def _variable(name: str, required: bool) -> Getter:
    def value(variables: Variables) -> Any:
        given = variables.get(name, Undefined)
        if given is Undefined or (given is None and required):
            raise Unsupported("argument value")
        return given

    return value


def _object(node: ObjectValueNode, wanted: GraphQLInputObjectType) -> Getter:
    """An input object with variables inside: each field given a getter; a field left out, or
    given a variable the request leaves out, takes its default (and without one is left out)."""
    given = {f.name.value: f.value for f in node.fields}
    fields: list[tuple[str, ValueNode | None, Getter | None, Any]] = []
    for name, declared in wanted.fields.items():
        value = given.get(name)
        default = declared.default_value
        if value is None and default is Undefined and is_non_null_type(declared.type):
            raise Unsupported("argument value")
        get = _literal(value, declared.type) if value is not None else None
        fields.append((declared.out_name or name, value, get, default))

    def build(variables: Variables) -> Any:
        built: dict[str, Any] = {}
        for key, value, get, default in fields:
            if get is not None and not _missing(value, variables):
                built[key] = get(variables)
            elif default is not Undefined:
                built[key] = default
        return wanted.out_type(built)

    return build


def _missing(node: ValueNode | None, variables: Variables) -> bool:
    return isinstance(node, VariableNode) and variables.get(node.name.value, Undefined) is Undefined


def _has_variables(node: ValueNode) -> bool:
    if isinstance(node, VariableNode):
        return True
    if isinstance(node, ObjectValueNode):
        return any(_has_variables(f.value) for f in node.fields)
    if isinstance(node, ListValueNode):
        return any(_has_variables(v) for v in node.values)
    return False


def _checked(check: Callable[[], _T]) -> _T:
    """A check of graph/sql/where.py or order.py; its refusal is the resolvers' to word."""
    try:
        return check()
    except ApiError as refusal:
        raise Refused("refused argument") from refusal


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


def _cursor_keys(variables: Variables) -> str:
    keys: str = variables[CURSORS].sql_keys
    return keys


def _page_size(get: Getter) -> Getter:
    def size(variables: Variables) -> int:
        value = get(variables)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_PAGE_SIZE:
            raise ValueError("page size")
        return value

    return size


def _cursor_part(get: Getter, sort: SortKey, index: int, field: str) -> Getter:
    """The cursor's value of the sort's column `index`, parsed as the resolvers parse it; a
    cursor they refuse (or, of a column that is never null, a null value) is theirs."""

    def part(variables: Variables) -> Any:
        value = get(variables)
        if not isinstance(value, str):
            raise TypeError("cursor")
        try:
            values = variables[CURSORS].decode(value, field)
        except Exception as error:  # a malformed cursor: the resolvers say BAD_USER_INPUT
            raise ValueError("cursor") from error
        if len(values) != len(sort.columns) + 1 or values[0] != sort.kind:  # another list's
            raise ValueError("cursor")
        raw = values[index + 1]
        if raw is None and not sort.columns[index].nullable:
            raise ValueError("cursor")
        return sort.parsers[index](raw)

    return part


def compile_operation(
    registry: Registry,
    document: DocumentNode,
    operation_name: str | None,
    variables: Variables,
    convert_input: Callable[[Any, type], Any] | None = None,
    schema: GraphQLSchema | None = None,
) -> Plan:
    """The plan of a query, or of a registered mutation (Unsupported for anything else),
    against `registry`.
    `convert_input` turns a coerced input object into the resolver's input class; `schema`
    coerces input objects written in the document (without it, they are left to the
    resolvers)."""
    operation = get_operation_ast(document, operation_name)
    if not isinstance(operation, OperationDefinitionNode) or operation.directives:
        raise Unsupported("no operation")
    compiler = _Compiler(registry, document, variables, schema)
    if operation.operation is OperationType.QUERY:
        sql = compiler.root(operation.selection_set)
        return Plan(sql, compiler.getters, derived=compiler.derived)
    if operation.operation is OperationType.MUTATION and convert_input is not None:
        return compiler.mutation(operation.selection_set, convert_input)
    raise Unsupported("not a query")

"""A root list's aggregate (`paymentsAggregate`, ...) in the compiler's one statement: the same
figures and groups graph/sql/aggregates.py reads for the resolvers, built as JSON by
PostgreSQL — the totals row and the groups from one `GROUPING SETS` scan (a CTE read twice),
relation keys as correlated subselects, figures formatted as Strawberry prints them (decimals
as text, times by `gql_datetime`).

`where` is the lists' (planning.py `where_conditions`). Left to the resolvers (`Unsupported`):
`avg` (PostgreSQL and Python print some floats differently, e.g. `150` and `150.0`), a sum of
an Int column (its range check is the resolvers' `OUT_OF_RANGE`), a `groupBy` this plan was not
made for, and refused values (`Refused`: the resolvers word the error).
"""

import enum
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from graphql import FieldNode, SelectionSetNode, VariableNode

from graph.core.calendar import TIME_ZONE_NAME
from graph.core.errors import ApiError
from graph.sql.aggregates import DEFAULT_GROUPS, check_group_by, check_groups
from graph.sql.compiler.plan import Getter, Refused, Unsupported, Variables
from models.list_arguments import (
    AggregateField,
    BucketKey,
    ColumnKey,
    GroupKey,
    RelationKey,
    aggregate_fields,
    group_keys,
)
from models.type_map import TypeMap

FIGURE_TYPES = {"sum": "Sums", "min": "Minimums", "max": "Maximums"}


class Compiler(Protocol):
    """What of the compiler's walk (planning.py) an aggregate uses."""

    variables: Variables
    derived: dict[str, Getter]

    def param(self, getter: Getter, sql_type: str) -> str: ...

    def alias(self) -> str: ...

    def fields_of(
        self, selection_set: SelectionSetNode | None, type_name: str
    ) -> Iterator[FieldNode]: ...

    def object(self, type_map: TypeMap, t: str, selection_set: SelectionSetNode | None) -> str: ...

    def arguments(
        self, node: FieldNode, owner: str | None = None
    ) -> dict[str, tuple[Getter, bool]]: ...

    def where_conditions(
        self, type_map: TypeMap, argument: tuple[Getter, bool], a: str
    ) -> list[str]: ...


@dataclass
class _Aggregate:
    compiler: Compiler
    types: Mapping[str, TypeMap]  # the compiled ones
    type_map: TypeMap
    a: str  # the rows
    keys: tuple[GroupKey, ...]
    figures: dict[tuple[str, str], str] = field(default_factory=dict)  # (function, field) → column

    def figure(self, function: str, name: str, declared: AggregateField) -> str:
        """The column of a figure (added to the scan on first use)."""
        return self.figures.setdefault((function, name), f"_f{len(self.figures)}")

    def figure_columns(self) -> list[str]:
        return [
            f"{function}({self.a}.{aggregate_fields(self.type_map)[name].column}) as {column}"
            for (function, name), column in self.figures.items()
        ]

    def key_sql(self, key: GroupKey) -> str:
        if isinstance(key, ColumnKey):
            return f"{self.a}.{key.column}"
        if isinstance(key, RelationKey):
            return f"{self.a}.{key.relation.foreign_key}"
        return bucket_sql(key, self.a)

    # -- the JSON of the selections -------------------------------------------------------

    def figures_object(self, function: str, node: FieldNode, row: str) -> str:
        if function not in FIGURE_TYPES:
            raise Unsupported(f"aggregate {function}")  # avg: the resolvers print its floats
        declared = aggregate_fields(self.type_map)
        type_name = f"{self.type_map.name}Aggregate{FIGURE_TYPES[function]}"
        pairs = []
        for selected in self.compiler.fields_of(node.selection_set, type_name):
            name = selected.name.value
            if name == "__typename":
                value = f"'{type_name}'"
            else:
                figure = declared.get(name)
                if figure is None or (function == "sum" and figure.kind == "int"):
                    raise Unsupported(f"{function}.{name}")  # an Int sum: the range check
                value = _value(figure, f"{row}.{self.figure(function, name, figure)}")
            pairs.append(f"'{_key(selected)}', {value}")
        return f"json_build_object({', '.join(pairs)})"

    def figures_pairs(self, node: FieldNode, row: str, type_name: str) -> Iterator[str]:
        """`count`, `sum`, `min`, `max` and `__typename` of a total or a group."""
        for selected in self.compiler.fields_of(node.selection_set, type_name):
            name = selected.name.value
            if name == "count":
                value = f"{row}._count"
            elif name == "__typename":
                value = f"'{type_name}'"
            elif name in ("sum", "avg", "min", "max"):
                value = self.figures_object(name, selected, row)
            else:
                continue
            yield f"'{_key(selected)}', {value}"

    def key_object(self, node: FieldNode, row: str) -> str:
        type_name = f"{self.type_map.name}GroupKey"
        by_field = {key.field: (i, key) for i, key in enumerate(self.keys)}
        pairs = []
        for selected in self.compiler.fields_of(node.selection_set, type_name):
            name = selected.name.value
            if name == "__typename":
                value = f"'{type_name}'"
            elif name not in by_field:
                if name not in {key.field for key in group_keys(self.type_map).values()}:
                    raise Unsupported(name)
                value = "null"
            else:
                i, key = by_field[name]
                value = self.key_value(key, f"{row}._k{i}", selected)
            pairs.append(f"'{_key(selected)}', {value}")
        return f"json_build_object({', '.join(pairs)})"

    def key_value(self, key: GroupKey, column: str, node: FieldNode) -> str:
        if isinstance(key, RelationKey):
            target = self.types.get(key.relation.target)
            if target is None:
                raise Unsupported(key.relation.target)
            b = self.compiler.alias()
            body = self.compiler.object(target, b, node.selection_set)
            return f"(select {body} from {target.table.name} {b} where {b}.id = {column})"
        if isinstance(key, ColumnKey) and key.kind == "enum":
            return f"upper({column})"
        return column

    def groups(self, node: FieldNode, cte: str) -> str:
        first = self.first(node)
        if not self.keys:
            return "'[]'::json"
        x = self.compiler.alias()
        group_type = f"{self.type_map.name}AggregateGroup"
        pairs = []
        for selected in self.compiler.fields_of(node.selection_set, group_type):
            if selected.name.value == "key":
                pairs.append(f"'{_key(selected)}', {self.key_object(selected, x)}")
        pairs.extend(self.figures_pairs(node, x, group_type))
        return (
            f"(select coalesce(json_agg(json_build_object({', '.join(pairs)}) order by {x}._n),"
            f" '[]'::json) from {cte} {x} where {x}._total = 0 and {x}._n <= {first})"
        )

    def first(self, node: FieldNode) -> str:
        """`groups(first:)`: in the SQL when written, else a parameter (checked as the
        resolvers check it; refused values go to them)."""
        given = next((arg for arg in node.arguments or () if arg.name.value == "first"), None)
        if given is None:
            return str(DEFAULT_GROUPS)
        if isinstance(given.value, VariableNode):
            name = given.value.name.value
            return self.compiler.param(_checked(lambda v: check_groups(v.get(name))), "int")
        value = getattr(given.value, "value", None)
        try:
            return str(check_groups(int(value) if isinstance(value, str) else value))
        except (ApiError, ValueError) as refused:
            raise Refused("groups.first") from refused


def aggregate_sql(
    compiler: Compiler, types: Mapping[str, TypeMap], type_map: TypeMap, node: FieldNode
) -> str:
    """`<list>Aggregate(where:, groupBy:) { ... }` as one JSON-building subselect (`types`:
    the compiled types, for relation keys)."""
    arguments = compiler.arguments(node, owner="Query")
    if set(arguments) - {"where", "groupBy"}:
        raise Unsupported("aggregate arguments")
    keys = _group_by(compiler, type_map, arguments.get("groupBy"))
    a = compiler.alias()
    built = _Aggregate(compiler, types, type_map, a, keys)
    conditions = (
        compiler.where_conditions(type_map, arguments["where"], a) if "where" in arguments else []
    )
    cte, t = compiler.alias(), compiler.alias()
    aggregate_type = f"{type_map.name}Aggregate"
    pairs = list(built.figures_pairs(node, t, aggregate_type))
    for selected in compiler.fields_of(node.selection_set, aggregate_type):
        if selected.name.value == "groups":
            pairs.append(f"'{_key(selected)}', {built.groups(selected, cte)}")
    where = f" where {' and '.join(conditions)}" if conditions else ""
    table = type_map.table.name
    columns = ["count(*) as _count", *built.figure_columns()]
    if not keys:
        scan = f"select {', '.join(columns)} from {table} {a}{where}"
        return f"(select json_build_object({', '.join(pairs)}) from ({scan}) {t})"
    key_sql = [built.key_sql(key) for key in keys]
    order = ", ".join(f"{k} asc nulls last" for k in key_sql)
    grouped = (
        f"select grouping({key_sql[0]}) as _total,"
        f" {', '.join(f'{k} as _k{i}' for i, k in enumerate(key_sql))}, {', '.join(columns)},"
        f" row_number() over (partition by grouping({key_sql[0]}) order by {order}) as _n"
        f" from {table} {a}{where} group by grouping sets ((), ({', '.join(key_sql)}))"
    )
    return (
        f"(with {cte} as ({grouped})"
        f" select json_build_object({', '.join(pairs)}) from {cte} {t} where {t}._total = 1)"
    )


def bucket_sql(key: BucketKey, a: str) -> str:
    """As graph/sql/aggregates.py's `bucket_expression`: the bucket's first day, on the clinic
    calendar."""
    column = f"{a}.{key.column}"
    local = (
        f"timezone('{TIME_ZONE_NAME}', {column})"
        if key.kind == "datetime"
        else f"{column}::timestamp"
    )
    return f"date_trunc('{key.bucket}', {local})::date"


def _group_by(
    compiler: Compiler, type_map: TypeMap, argument: tuple[Getter, bool] | None
) -> tuple[GroupKey, ...]:
    """The plan's group keys, as this run's `groupBy` names them; each run checks that its
    `groupBy` still names them (else the resolvers answer)."""
    if argument is None or argument[1]:
        return ()
    get, _ = argument
    type_name = type_map.name
    read = _checked(lambda v: check_group_by(type_name, _names(get(v))))
    keys: tuple[GroupKey, ...] = read(compiler.variables)

    def same(variables: Variables) -> None:
        if read(variables) != keys:
            raise Unsupported("another groupBy")

    compiler.derived[f"groupBy#{len(compiler.derived)}"] = same  # no variable is named so
    return keys


def _names(value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):  # a lone value stands for a list of one
        value = [value]
    return [item.value if isinstance(item, enum.Enum) else item for item in value]


def _checked(get: Callable[[Variables], Any]) -> Getter:
    """A getter whose refusals send the request to the resolvers (they answer them)."""

    def checked(variables: Variables) -> Any:
        try:
            return get(variables)
        except (ApiError, TypeError, ValueError) as refused:
            raise Refused("refused aggregate argument") from refused

    return checked


def _value(figure: AggregateField, column: str) -> str:
    if figure.kind == "decimal":
        return f"{column}::text"
    if figure.kind == "datetime":
        return f"gql_datetime({column})"
    return column


def _key(node: FieldNode) -> str:
    return (node.alias or node.name).value

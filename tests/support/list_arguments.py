"""Hypothesis strategies for the `where` and `orderBy` arguments of a type's lists, derived
from its declaration (models/list_arguments.py) as the API derives them: `Where` values as
plain dicts with GraphQL names (enums by name), `orderBy` lists of `<FIELD>_ASC/_DESC`.

Values are the coerced Python ones (datetime, date, Decimal); `as_json` writes them as a
client sends them in variables. Comparison values come from small pools near the test data
(`Pools`), so filters both keep and drop rows.
"""

import datetime
import decimal
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLEnumType, GraphQLNonNull, GraphQLObjectType, GraphQLSchema
from hypothesis import strategies as st

from graph.core.ids import to_global_id
from models.declarations import DECLARATIONS
from models.list_arguments import (
    OPERATORS,
    ColumnFilter,
    IdFilter,
    RelationFilter,
    order_fields,
    where_fields,
)
from models.type_map import ScalarKind
from tests.support.factories import ClinicWorld

NOW = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
TEXTS = ("a", "Maria", "%a%", "%SILVA%", "_a%", "x/_%", "", "Clínica", "CREFITO-%", "Ana")


@dataclass
class Pools:
    """Values filters compare with: `ids` of rows by type, the schema for enum values."""

    schema: GraphQLSchema
    ids: Mapping[str, Sequence[uuid.UUID]] = field(default_factory=dict)

    def enum_values(self, type_name: str, graphql_field: str) -> list[str]:
        owner = self.schema.get_type(type_name)
        assert isinstance(owner, GraphQLObjectType)
        of = owner.fields[graphql_field].type
        of = of.of_type if isinstance(of, GraphQLNonNull) else of
        assert isinstance(of, GraphQLEnumType), (type_name, graphql_field)
        return list(of.values)

    def value(self, type_name: str, graphql_field: str, declared: Any) -> st.SearchStrategy[Any]:
        if isinstance(declared, IdFilter):
            known = [
                to_global_id(declared.type_name, i) for i in self.ids.get(declared.type_name, ())
            ]
            return st.sampled_from([*known, to_global_id(declared.type_name, uuid.UUID(int=1))])
        kind: ScalarKind = declared.kind
        if kind == "enum":
            return st.sampled_from(self.enum_values(type_name, graphql_field))
        return _SCALARS[kind]


def ids_of(world: ClinicWorld) -> dict[str, list[uuid.UUID]]:
    """IDs of a clinic's rows for the pools: three patients and both physiotherapists."""
    physiotherapists = [world.physio.physiotherapist_id, world.other_physio.physiotherapist_id]
    return {
        "Patient": world.patient_ids[:3],
        "Physiotherapist": [i for i in physiotherapists if i is not None],
    }


_SCALARS: dict[str, st.SearchStrategy[Any]] = {
    "text": st.sampled_from(TEXTS),
    "int": st.integers(-5, 100),
    "bool": st.booleans(),
    "decimal": st.sampled_from(["0", "50", "100.50", "101.5", "102.50", "1000"]).map(
        decimal.Decimal
    ),
    "date": st.sampled_from(
        [
            datetime.date(1950, 1, 1),
            datetime.date(1990, 6, 15),
            *(NOW.date() + datetime.timedelta(days=d) for d in (-30, -10, 0, 3, 30)),
        ]
    ),
    "datetime": st.integers(-30, 30).map(lambda days: NOW + datetime.timedelta(days=days)),
}


def wheres(type_name: str, pools: Pools, depth: int = 2) -> st.SearchStrategy[dict[str, Any]]:
    """A `<Type>Where` value: up to three fields (relations nested), and with `depth` left,
    `and` / `or` / `not`."""
    fields = where_fields(DECLARATIONS[type_name])
    choices: list[st.SearchStrategy[tuple[str, Any]]] = []
    for name, declared in fields.items():
        if isinstance(declared, RelationFilter):
            if depth > 0:
                inner = wheres(declared.relation.target, pools, depth - 1)
                choices.append(st.tuples(st.just(name), inner))
            continue
        kind = "uuid" if isinstance(declared, IdFilter) else declared.kind
        choices.append(
            st.tuples(st.just(name), comparisons(type_name, name, declared, kind, pools))
        )
    if depth > 0:
        inner = st.deferred(lambda: wheres(type_name, pools, depth - 1))
        choices.append(st.tuples(st.just("and"), st.lists(inner, max_size=2)))
        choices.append(st.tuples(st.just("or"), st.lists(inner, max_size=2)))
        choices.append(st.tuples(st.just("not"), inner))
    return st.lists(st.one_of(choices), max_size=3, unique_by=lambda pair: pair[0]).map(dict)


def comparisons(
    type_name: str, name: str, declared: ColumnFilter | IdFilter, kind: ScalarKind, pools: Pools
) -> st.SearchStrategy[dict[str, Any]]:
    value = pools.value(type_name, name, declared)

    def operand(op: str) -> st.SearchStrategy[Any]:
        if op == "isNull":
            return st.booleans()
        if op in ("in", "nin"):
            return st.lists(value, max_size=3)
        return value

    ops = st.lists(st.sampled_from(OPERATORS[kind]), min_size=1, max_size=2, unique=True)
    return ops.flatmap(lambda chosen: st.fixed_dictionaries({op: operand(op) for op in chosen}))


def orders(type_name: str) -> st.SearchStrategy[list[str]]:
    """An `orderBy` list: up to three distinct columns, each ascending or descending."""
    prefixes = sorted(order_fields(DECLARATIONS[type_name]))
    return (
        st.lists(st.sampled_from(prefixes), max_size=3, unique=True)
        .flatmap(
            lambda chosen: st.tuples(*(st.sampled_from([f"{p}_ASC", f"{p}_DESC"]) for p in chosen))
        )
        .map(list)
    )


def as_json(value: Any) -> Any:
    """A coerced value as a client writes it in the variables."""
    if isinstance(value, Mapping):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_json(v) for v in value]
    if isinstance(value, datetime.date | decimal.Decimal):
        return value.isoformat() if isinstance(value, datetime.date) else str(value)
    return value

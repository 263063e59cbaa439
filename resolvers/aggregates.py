"""`<list>Aggregate` beside every root list (`appointmentsAggregate`, `paymentsAggregate`,
...): one field per declared root list (graph/sql/aggregates.py `aggregate_root`), made from
the declarations, never written per area. An audited type's figures are reads of its rows:
each row summarized is logged (`vitalSignsAggregate`)."""

import inspect
from typing import Any

import strawberry

from graph.api.aggregate_types import (
    aggregate_object,
    aggregate_type,
    group_by_type,
    groups_asked,
)
from graph.api.audit_reads import record_reads
from graph.api.context import Info
from graph.api.list_inputs import where_type
from graph.api.lists import input_tree, optional_argument
from graph.sql.aggregates import AggregateQuery, aggregate_root, read_aggregate
from models.declarations import DECLARATIONS


def aggregate_resolver(type_name: str) -> Any:
    """The resolver of the type's aggregate: its arguments checked, one statement read."""

    async def resolve(info: Info, where: Any = None, group_by: Any = None) -> Any:
        info.context.require_identity()
        query = AggregateQuery.of(type_name, input_tree(where), group_by, groups_asked(info))
        result = await read_aggregate(info.context.db, query)
        await record_reads(info, DECLARATIONS[type_name].table.name, result.read)
        return aggregate_object(type_name, result)

    group_by: Any = list[group_by_type(type_name)]  # type: ignore[misc]
    parameters = [
        inspect.Parameter("info", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Info),
        optional_argument("where", where_type(type_name)),
        optional_argument("group_by", group_by),
    ]
    returns = aggregate_type(type_name)
    resolve.__signature__ = inspect.Signature(parameters, return_annotation=returns)  # type: ignore[attr-defined]
    resolve.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": returns}
    return resolve


def _aggregate_queries() -> type[Any]:
    namespace: dict[str, Any] = {"__module__": __name__}
    for type_name, declared in DECLARATIONS.items():
        name = aggregate_root(declared)
        if name is not None:
            namespace[name] = strawberry.field(
                resolver=aggregate_resolver(type_name),
                name=name,
                description=f"Count, sums, averages, extremes of the `{declared.root_list}`"
                " the caller may read, in total and per group of `groupBy`.",
            )
    return strawberry.type(type("AggregateQueries", (), namespace))


AggregateQueries = _aggregate_queries()

"""`@declared_list("Patient")`: a connection field's page, `where` and `orderBy` arguments,
from its type's declaration, checked into the `ListQuery` its resolver is given.

The resolver takes `query: ListQuery` (and its own arguments, e.g. an old `filter`); the
decorator replaces `query` with `first`, `after`, `last` and `before` and adds `where` and
`orderBy` after the resolver's own arguments, so every list, root or nested, takes the same
arguments, checked the same way, without writing them.
"""

import enum
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from strawberry.types.base import get_object_definition
from strawberry.types.unset import UNSET
from strawberry.utils.str_converters import to_camel_case

from graph.api.list_inputs import order_by_type, where_type
from graph.sql.list_query import ListQuery
from graph.sql.pagination import PageArgs

T = TypeVar("T")
Resolver = Callable[..., Awaitable[T]]

PAGE = (("first", int), ("after", str), ("last", int), ("before", str))


def declared_list(type_name: str) -> Callable[[Resolver[T]], Resolver[T]]:
    order_by: Any = list[order_by_type(type_name)] | None  # type: ignore[misc]

    def decorate(resolver: Resolver[T]) -> Resolver[T]:
        signature = inspect.signature(resolver)
        own = [p for p in signature.parameters.values() if p.name != "query"]
        at = list(signature.parameters).index("query")
        parameters = [
            *own[:at],
            *(optional_argument(name, kind) for name, kind in PAGE),
            *own[at:],
            optional_argument("where", where_type(type_name)),
            optional_argument("order_by", order_by),
        ]

        async def resolve(*args: Any, **kwargs: Any) -> T:
            page = PageArgs.parse(*(kwargs.pop(name) for name, _ in PAGE))
            where = input_tree(kwargs.pop("where"))
            query = ListQuery.of(type_name, page, where, kwargs.pop("order_by"))
            return await resolver(*args, query=query, **kwargs)

        resolve.__name__ = resolver.__name__
        resolve.__qualname__ = resolver.__qualname__
        resolve.__doc__ = resolver.__doc__
        resolve.__module__ = resolver.__module__
        resolve.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        return resolve

    return decorate


def optional_argument(name: str, annotation: Any) -> inspect.Parameter:
    """A resolver parameter Strawberry reads as an optional argument (`annotation | None`,
    default null)."""
    return inspect.Parameter(
        name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=annotation | None
    )


def input_tree(value: Any) -> Any:
    """A Strawberry input value as plain data: input objects as dicts by GraphQL field name
    (fields not given left out), lists as lists, enums and scalars as they are."""
    definition = get_object_definition(value) if not isinstance(value, enum.Enum) else None
    if definition is not None and definition.is_input:
        tree = {}
        for field in definition.fields:
            given = getattr(value, field.python_name)
            if given is not None and given is not UNSET:
                tree[field.graphql_name or to_camel_case(field.python_name)] = input_tree(given)
        return tree
    if isinstance(value, list):
        return [input_tree(item) for item in value]
    return value

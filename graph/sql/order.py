"""A list's `orderBy` argument: checked once into an `Order` (hashable, so it can key a batched
loader), the keyset `SortKey` of the resolvers and the compiler's ORDER BY alike.

`orderBy: [BIRTH_DATE_DESC, NAME_ASC]` orders by those columns in turn, then by the row id
(ascending), so every row has one place and keyset cursors stay stable. No `orderBy` (or an
empty one) is the type's declared order. What a type may be ordered by is derived from its
declaration (models/list_arguments.py).
"""

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from graph.core.errors import bad_input
from graph.sql.declared import sort_key
from graph.sql.pagination import SortKey
from models.declarations import DECLARATIONS
from models.list_arguments import order_fields

ASC, DESC = "_ASC", "_DESC"


@dataclass(frozen=True)
class Order:
    """The columns chosen, each with whether it is descending (the row id is implied last)."""

    keys: tuple[tuple[str, bool], ...]

    @property
    def label(self) -> str:
        """The order as a cursor's kind names it: `birth_date desc,name,id`."""
        return ",".join(f"{c} desc" if d else c for c, d in self.keys) + ",id"


def check_order(
    type_name: str, given: Sequence[Any] | None, field: str = "orderBy"
) -> Order | None:
    """The `Order` of an `orderBy` value (enum members or their GraphQL names); None for the
    declared order. BAD_USER_INPUT on `field` for a column given twice or an unknown value."""
    if not given:
        return None
    fields = order_fields(DECLARATIONS[type_name])
    keys: list[tuple[str, bool]] = []
    for index, item in enumerate(given):
        name = item.name if isinstance(item, enum.Enum) else str(item)
        prefix, descending = (
            (name[: -len(DESC)], True)
            if name.endswith(DESC)
            else (
                name[: -len(ASC)],
                False,
            )
        )
        if not name.endswith((ASC, DESC)) or prefix not in fields:
            raise bad_input(f"{field}.{index}", f"{type_name} cannot be ordered by {name}")
        column = fields[prefix].column
        if any(column == chosen for chosen, _ in keys):
            raise bad_input(f"{field}.{index}", f"{prefix} is ordered by twice")
        keys.append((column, descending))
    return Order(tuple(keys))


@cache
def ordered_sort_key(type_name: str, order: Order | None) -> SortKey:
    """The keyset order of a list of the type: the declared one, or the chosen columns then
    the row id."""
    if order is None:
        return sort_key(type_name)
    table = DECLARATIONS[type_name].table
    return SortKey(
        (*(table.c[column] for column, _ in order.keys), table.c.id),
        (*(descending for _, descending in order.keys), False),
        order.label,
    )

"""Partial updates: the fields an update input was given, each validated, the rest untouched.

An input field left out is UNSET and stays as it is; null clears a field that may be null and
is BAD_USER_INPUT on one that may not.
"""

from collections.abc import Callable, Mapping
from typing import Any

from strawberry.types.unset import UNSET

from graph.core.errors import bad_input

# A non-null value and its GraphQL field name → the value to store (or raise bad_input).
Normalize = Callable[[Any, str], Any]

# input attribute (= column) → (GraphQL field, normalization of a non-null value, may it be null)
Settable = Mapping[str, tuple[str, Normalize, bool]]


def as_is(value: Any, field: str) -> Any:
    """A value GraphQL has already checked (a Boolean, an Int, an enum)."""
    return value


def given_values(input: object, settable: Settable) -> dict[str, Any]:
    """Column → value for each field of `input` that was given."""
    values: dict[str, Any] = {}
    for attribute, (field, normalize, nullable) in settable.items():
        value = getattr(input, attribute)
        if value is UNSET:
            continue
        if value is None and not nullable:
            raise bad_input(field, f"{field} must not be null")
        values[attribute] = None if value is None else normalize(value, field)
    return values

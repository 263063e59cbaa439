"""Library search: accent- and case-insensitive substring matching on name, category and
description, served by the trigram index `exercises_search_idx` (migration 0001), whose
expression `SEARCH_DOCUMENT` repeats exactly."""

from typing import Any

from sqlalchemy import ColumnElement, func, literal_column

from graph.core.errors import bad_input
from models.exercises import exercises

MAX_SEARCH_WORDS = 8


# Exactly the expression of the index exercises_search_idx (literals, not bind parameters, so
# the planner matches it under generic plans too).
SEARCH_DOCUMENT = func.immutable_unaccent(
    func.lower(
        exercises.c.name
        + literal_column("' '")
        + exercises.c.category
        + literal_column("' '")
        + func.coalesce(exercises.c.description, literal_column("''"))
    )
)


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return "%" + escaped + "%"


def _normalized(value: Any) -> Any:
    return func.immutable_unaccent(func.lower(value))


def exercise_conditions(category: str | None, search: str | None) -> list[ColumnElement[bool]]:
    """`category`: equal, ignoring case and accents; `search`: every word appears somewhere in
    the name, category or description, ignoring case and accents."""
    conditions: list[ColumnElement[bool]] = []
    if category is not None and category.strip():
        conditions.append(_normalized(exercises.c.category) == _normalized(category.strip()))
    words = (search or "").split()
    if len(words) > MAX_SEARCH_WORDS:
        raise bad_input("search", f"search may have at most {MAX_SEARCH_WORDS} words")
    for word in words:
        if len(word) > 100:
            raise bad_input("search", "search words may have at most 100 characters")
        conditions.append(SEARCH_DOCUMENT.like(_normalized(_like_pattern(word))))
    return conditions

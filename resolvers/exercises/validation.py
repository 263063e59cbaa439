"""The bounds of what an exercise, a prescription or a logged execution may say."""

from graph.core.errors import bad_input

MAX_SETS = 100
MAX_REPETITIONS = 1_000
MAX_SECONDS = 24 * 3600


def in_range(value: int | None, field: str, low: int, high: int) -> int | None:
    if value is not None and not low <= value <= high:
        raise bad_input(field, f"{field} must be between {low} and {high}")
    return value


def optional_text(value: str | None) -> str | None:
    return (value or "").strip() or None

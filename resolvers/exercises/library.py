"""The exercise library: the shared one (`clinic_id` NULL, written only by migrations: 0004) plus
each clinic's own exercises. `exercises` (searchable), `exerciseCategories`, `createExercise`."""

from urllib.parse import urlsplit

import strawberry
from sqlalchemy import select

from graph.api.builders import from_row, row_builder
from graph.api.context import Info
from graph.api.lists import declared_list
from graph.api.relay import Connection, list_connection
from graph.core.errors import bad_input
from graph.core.identity import Role
from graph.core.validators import required_text
from graph.sql.list_query import ListQuery
from graph.sql.writes import insert_row
from models.exercises import exercises
from resolvers.exercises.search import exercise_conditions
from resolvers.exercises.types import Difficulty, Exercise
from resolvers.exercises.validation import MAX_SECONDS, in_range, optional_text

MAX_STEPS = 50


@declared_list("Exercise")
async def list_exercises(
    info: Info,
    query: ListQuery,
    category: str | None = None,
    search: str | None = None,
) -> Connection[Exercise]:
    """The shared library and the clinic's own exercises, by name."""
    info.context.require_identity()
    return await list_connection(
        info.context.db,
        exercises,
        query,
        row_builder(Exercise),
        exercise_conditions(category, search),
    )


async def exercise_categories(info: Info) -> list[str]:
    """Every category of the exercises the caller can see, alphabetically."""
    info.context.require_identity()
    statement = select(exercises.c.category).distinct().order_by(exercises.c.category)
    return [row["category"] for row in await info.context.db.fetch(statement)]


@strawberry.input
class CreateExerciseInput:
    name: str
    category: str
    difficulty: Difficulty
    description: str | None = None
    duration_seconds: int | None = None
    instructions: list[str] | None = None
    video_url: str | None = None
    image_url: str | None = None


def _url(value: str | None, field: str) -> str | None:
    url = (value or "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise bad_input(field, f"{field} must be an http(s) URL")
    return url


def _instructions(steps: list[str] | None) -> list[str]:
    cleaned = [step.strip() for step in steps or ()]
    if any(not step for step in cleaned):
        raise bad_input("instructions", "instructions must not contain empty steps")
    if len(cleaned) > MAX_STEPS:
        raise bad_input("instructions", f"instructions may have at most {MAX_STEPS} steps")
    return cleaned


async def create_exercise(info: Info, input: CreateExerciseInput) -> Exercise:
    """An exercise of the caller's clinic (the shared library changes only by migrations)."""
    identity = info.context.require_role(Role.ADMIN, Role.PHYSIOTHERAPIST)
    row = await insert_row(
        info.context.db,
        exercises,
        {
            "clinic_id": identity.clinic_id,
            "name": required_text(input.name, "name"),
            "category": required_text(input.category, "category"),
            "difficulty": input.difficulty.value,
            "description": optional_text(input.description),
            "duration_seconds": in_range(input.duration_seconds, "durationSeconds", 1, MAX_SECONDS),
            "instructions": _instructions(input.instructions),
            "video_url": _url(input.video_url, "videoUrl"),
            "image_url": _url(input.image_url, "imageUrl"),
        },
    )
    return from_row(Exercise, row)

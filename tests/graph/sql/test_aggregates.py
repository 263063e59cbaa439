"""graph/sql/aggregates.py against PostgreSQL: totals and groups of a known small data set,
buckets on the clinic calendar, key order, and RLS (only rows the caller may read count)."""

from collections.abc import AsyncIterator
from datetime import date, datetime
from decimal import Decimal

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from graph.core.errors import ApiError
from graph.core.identity import Identity
from graph.sql.aggregates import (
    MAX_GROUPS,
    AggregateQuery,
    AggregateResult,
    check_groups,
    read_aggregate,
)
from graph.sql.database import create_engine
from graph.sql.session import RequestDb
from tests.support.factories import ClinicWorld, add_appointment, add_payment, make_clinic


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    made = create_engine(database_url, pool_size=1)
    yield made
    await made.dispose()


async def aggregate(engine: AsyncEngine, who: Identity, query: AggregateQuery) -> AggregateResult:
    db = RequestDb(engine, who)
    try:
        return await read_aggregate(db, query)
    finally:
        await db.finish(commit=False)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def payments_world(conn: asyncpg.Connection) -> ClinicWorld:
    """Six payments of a clinic (and one of another clinic that must never count)."""
    world = await make_clinic(conn)
    rows = [  # amount, method, status, created (UTC)
        ("100.00", "pix", "paid", "2026-03-05T12:00:00+00:00"),
        ("50.50", "pix", "paid", "2026-03-20T12:00:00+00:00"),
        ("200.00", "credit_card", "paid", "2026-03-31T23:30:00-03:00"),  # March in São Paulo
        ("80.00", "pix", "paid", "2026-04-02T12:00:00+00:00"),
        ("40.00", "cash", "pending", "2026-04-10T12:00:00+00:00"),
        ("60.00", "credit_card", "paid", "2026-04-15T12:00:00+00:00"),
    ]
    for amount, method, status, created in rows:
        payment = await add_payment(conn, world, world.patient_ids[0], amount)
        await conn.execute(
            "update payments set method = $2, status = $3::text, created_at = $4::timestamptz,"
            " paid_at = case when $3::text = 'paid' then $4::timestamptz end where id = $1",
            payment,
            method,
            status,
            at(created),
        )
    other = await make_clinic(conn, "Outra Clínica")
    await add_payment(conn, other, other.patient_ids[0], "9999.00")
    return world


async def test_revenue_per_month_by_method(
    superuser: asyncpg.Connection, engine: AsyncEngine
) -> None:
    world = await payments_world(superuser)
    query = AggregateQuery.of(
        "Payment", {"status": {"eq": "PAID"}}, ["PAID_AT_MONTH", "METHOD"], 100
    )
    result = await aggregate(engine, world.admin, query)
    assert result.total.count == 5
    assert result.total.values[("sum", "amount")] == Decimal("490.50")
    got = [
        (
            g.key["paidAtMonth"],
            g.key["method"],
            g.figures.count,
            g.figures.values[("sum", "amount")],
        )
        for g in result.groups
    ]
    assert got == [
        (date(2026, 3, 1), "credit_card", 1, Decimal("200.00")),
        (date(2026, 3, 1), "pix", 2, Decimal("150.50")),
        (date(2026, 4, 1), "credit_card", 1, Decimal("60.00")),
        (date(2026, 4, 1), "pix", 1, Decimal("80.00")),
    ]
    assert result.groups[1].figures.values[("avg", "amount")] == pytest.approx(75.25)
    assert result.groups[1].figures.values[("min", "amount")] == Decimal("50.50")


async def test_first_bounds_the_groups_not_the_total(
    superuser: asyncpg.Connection, engine: AsyncEngine
) -> None:
    world = await payments_world(superuser)
    result = await aggregate(engine, world.admin, AggregateQuery.of("Payment", None, ["METHOD"], 2))
    assert result.total.count == 6
    assert [(g.key["method"], g.figures.count) for g in result.groups] == [
        ("cash", 1),
        ("credit_card", 2),
    ]
    none = await aggregate(engine, world.admin, AggregateQuery.of("Payment", None, ["METHOD"], 0))
    assert none.total.count == 6 and none.groups == ()
    ungrouped = await aggregate(engine, world.admin, AggregateQuery.of("Payment", None, [], 10))
    assert ungrouped.total.count == 6 and ungrouped.groups == ()


async def test_week_and_day_buckets_on_the_clinic_calendar(
    superuser: asyncpg.Connection, engine: AsyncEngine
) -> None:
    world = await payments_world(superuser)
    query = AggregateQuery.of(
        "Payment", {"method": {"eq": "CREDIT_CARD"}}, ["CREATED_AT_WEEK", "CREATED_AT_DAY"], 10
    )
    result = await aggregate(engine, world.admin, query)
    # 2026-03-31 (a Tuesday, local) is in the week of Monday 2026-03-30; 2026-04-15 (Wednesday)
    # in the week of Monday 2026-04-13.
    assert [(g.key["createdAtWeek"], g.key["createdAtDay"]) for g in result.groups] == [
        (date(2026, 3, 30), date(2026, 3, 31)),
        (date(2026, 4, 13), date(2026, 4, 15)),
    ]
    year = await aggregate(
        engine, world.admin, AggregateQuery.of("Payment", None, ["CREATED_AT_YEAR"], 10)
    )
    assert [(g.key["createdAtYear"], g.figures.count) for g in year.groups] == [
        (date(2026, 1, 1), 6)
    ]


async def test_a_date_column_and_null_keys_last(
    superuser: asyncpg.Connection, engine: AsyncEngine
) -> None:
    world = await make_clinic(superuser)
    for due in (date(2026, 5, 31), None, date(2026, 6, 1)):
        await add_payment(superuser, world, world.patient_ids[1], "10.00", due_date=due)
    result = await aggregate(
        engine, world.receptionist, AggregateQuery.of("Payment", None, ["DUE_DATE_MONTH"], 10)
    )
    assert [g.key["dueDateMonth"] for g in result.groups] == [
        date(2026, 5, 1),
        date(2026, 6, 1),
        None,
    ]
    assert result.total.values[("min", "dueDate")] == date(2026, 5, 31)


async def test_relation_keys_and_rls(superuser: asyncpg.Connection, engine: AsyncEngine) -> None:
    world = await make_clinic(superuser)
    ana, bruno = world.physio.physiotherapist_id, world.other_physio.physiotherapist_id
    assert ana is not None and bruno is not None
    mine, other = world.patient_ids[0], world.patient_ids[3]
    for patient, physio, status in (
        (mine, ana, "completed"),
        (mine, ana, "no_show"),
        (other, bruno, "completed"),
    ):
        await add_appointment(
            superuser, world, patient, physio, at("2026-03-10T13:00:00+00:00"), status=status
        )
    query = AggregateQuery.of("Appointment", None, ["PHYSIOTHERAPIST", "STATUS"], 10)
    admin = await aggregate(engine, world.admin, query)
    assert sorted(
        (g.key["physiotherapist"], g.key["status"], g.figures.count) for g in admin.groups
    ) == sorted([(ana, "completed", 1), (ana, "no_show", 1), (bruno, "completed", 1)])
    keys = [g.key["physiotherapist"] for g in admin.groups]
    assert keys == sorted(keys)  # ascending by key
    patient = await aggregate(engine, world.patient, query)
    assert patient.total.count == 2
    assert {g.key["physiotherapist"] for g in patient.groups} == {ana}
    # A receptionist may not read prescriptions: counts nothing.
    none = await aggregate(
        engine, world.receptionist, AggregateQuery.of("ExercisePrescription", None, ["STATUS"], 10)
    )
    assert none.total.count == 0 and none.groups == ()


async def test_bad_arguments_are_bad_user_input() -> None:
    with pytest.raises(ApiError) as bad_key:
        AggregateQuery.of("Payment", None, ["PASSWORD_HASH"], 10)
    assert bad_key.value.extensions == {"code": "BAD_USER_INPUT", "field": "groupBy.0"}
    with pytest.raises(ApiError) as twice:
        AggregateQuery.of("Payment", None, ["METHOD", "METHOD"], 10)
    assert twice.value.extensions["field"] == "groupBy.1"
    for first in (-1, MAX_GROUPS + 1, True):
        with pytest.raises(ApiError) as bad_first:
            check_groups(first)
        assert bad_first.value.extensions == {"code": "BAD_USER_INPUT", "field": "groups.first"}
    with pytest.raises(ApiError):
        AggregateQuery.of("Payment", {"passwordHash": {"eq": "x"}}, None, 10)

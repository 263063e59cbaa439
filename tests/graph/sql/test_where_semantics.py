"""What `where` and `orderBy` mean, checked against a plain Python reading of the rules in
graph/sql/where.py and docs/api.md: hypothesis writes trees of comparisons, `and`, `or`, `not`
and relation filters over patients (text with patterns, nullable dates, enums, a nullable
to-one relation) and orders over nullable columns; the API must keep exactly the rows, in
exactly the order, that the Python oracle computes from the rows as the superuser reads them.

Comparisons follow SQL's three-valued logic: a comparison with a null column is unknown, and
`not` of unknown is unknown, so such a row is kept by neither.
"""

import asyncio
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import asyncpg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from graph.core.ids import to_global_id
from tests.support.database import plain_dsn
from tests.support.factories import ClinicWorld, make_clinic
from tests.support.fuzzing import FUZZ, Client, clients

QUERY = """query($where: PatientWhere, $orderBy: [PatientOrderBy!]) {
  patients(first: 100, where: $where, orderBy: $orderBy) { totalCount edges { node { id } } }
}"""

NAMES = ["ana silva", "Ana Souza", "bia_lima", "Caio%Silva", "davi", "Eva", "a", "ANA"]
BIRTHS = [date(1980, 1, 1), None, date(1990, 5, 5), date(1980, 1, 1), None, date(2001, 2, 3)]
BIRTHS += [date(1975, 7, 7), date(1990, 5, 5)]
STATUSES = ["active", "inactive", "discharged", "active", "active", "inactive", "active", "active"]
Row = dict[str, Any]


@pytest.fixture(scope="module")
def world(database_url: str) -> tuple[ClinicWorld, list[Row]]:
    """A clinic whose 8 patients have awkward names, null birth dates and one patient with
    no physiotherapist; its rows as the oracle reads them."""

    async def make() -> tuple[ClinicWorld, list[Row]]:
        connection = await asyncpg.connect(plain_dsn(database_url))
        try:
            world = await make_clinic(connection, name="Clínica Semântica", patients_per_physio=4)
            for index, patient_id in enumerate(world.patient_ids):
                await connection.execute(
                    "update patients set name = $2, birth_date = $3, status = $4,"
                    " physiotherapist_id = case when $5 then null else physiotherapist_id end"
                    " where id = $1",
                    patient_id,
                    NAMES[index],
                    BIRTHS[index],
                    STATUSES[index],
                    index == 5,
                )
            # Text orders by the database's collation: its rank stands in for the name.
            rows = await connection.fetch(
                "select p.id, p.name, p.birth_date, p.status, f.name as physio,"
                " dense_rank() over (order by p.name) as name_rank"
                " from patients p left join physiotherapists f on f.id = p.physiotherapist_id"
                " where p.clinic_id = $1",
                world.clinic_id,
            )
            return world, [dict(row) for row in rows]
        finally:
            await connection.close()

    return asyncio.run(make())


@pytest.fixture(scope="module")
def client(database_url: str) -> Iterator[Client]:
    yield from clients(database_url)


# -- the oracle ----------------------------------------------------------------------------------

Truth = bool | None  # None: unknown (a null met a comparison)


def _like(pattern: str, *, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(regex, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _compare(value: Any, op: str, given: Any) -> Truth:
    if op == "isNull":
        return (value is None) == given
    if op == "in" and not given:
        return False
    if op == "nin" and not given:
        return True
    if value is None:
        return None
    if op == "like":
        return _like(given, ignore_case=False).fullmatch(value) is not None
    if op == "ilike":
        return _like(given, ignore_case=True).fullmatch(value) is not None
    if op == "startsWith":
        return bool(value.startswith(given))
    tests: dict[str, Callable[[Any, Any], bool]] = {
        "eq": lambda a, b: a == b,
        "neq": lambda a, b: a != b,
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
        "in": lambda a, b: a in b,
        "nin": lambda a, b: a not in b,
    }
    return tests[op](value, given)


def _all(truths: list[Truth]) -> Truth:
    if any(t is False for t in truths):
        return False
    return None if any(t is None for t in truths) else True


def _any(truths: list[Truth]) -> Truth:
    if any(t is True for t in truths):
        return True
    return None if any(t is None for t in truths) else False


def holds(where: dict[str, Any], row: Row) -> Truth:
    truths: list[Truth] = []
    for name, value in where.items():
        if name == "and":
            truths.append(_all([holds(item, row) for item in value]))
        elif name == "or":
            truths.append(_any([holds(item, row) for item in value]) if value else True)
        elif name == "not":
            inner = holds(value, row)
            truths.append(None if inner is None else not inner)
        elif name == "physiotherapist":
            # Exists (and is visible) and matches: never unknown.
            truths.append(
                row["physio"] is not None and holds(value, {"name": row["physio"]}) is True
            )
        else:
            column = {"name": "name", "birthDate": "birth_date", "status": "status"}[name]
            for op, given in value.items():
                expected = given.lower() if name == "status" and op in ("eq", "neq") else given
                if name == "status" and op in ("in", "nin"):
                    expected = [item.lower() for item in given]
                if name == "birthDate" and op not in ("isNull",):
                    expected = (
                        [date.fromisoformat(d) for d in given]
                        if op in ("in", "nin")
                        else date.fromisoformat(given)
                    )
                truths.append(_compare(row[column], op, expected))
    return _all(truths)


def ordered(rows: list[Row], order: list[str]) -> list[uuid.UUID]:
    """Rows in `order` (nulls largest), then by id; default: by name then id."""
    keys = order or ["NAME_ASC"]
    columns = {"NAME": "name_rank", "BIRTH_DATE": "birth_date", "STATUS": "status"}

    def position(row: Row) -> tuple[Any, ...]:
        parts: list[Any] = []
        for key in keys:
            field, _, direction = key.rpartition("_")
            value = row[columns[field]]
            rank = (1, None) if value is None else (0, value)
            parts.append(_Reverse(rank) if direction == "DESC" else _Forward(rank))
        return (*parts, str(row["id"]))

    return [row["id"] for row in sorted(rows, key=position)]


class _Forward:
    """A sort value compared ascending, nulls ranked last."""

    def __init__(self, rank: tuple[int, Any]) -> None:
        self.rank = rank

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Forward) and self.rank == other.rank

    __hash__ = None  # type: ignore[assignment]

    def __lt__(self, other: "_Forward") -> bool:
        if self.rank[0] != other.rank[0]:
            return self.rank[0] < other.rank[0]
        return self.rank[0] == 0 and self.rank[1] < other.rank[1]


class _Reverse(_Forward):
    def __lt__(self, other: "_Forward") -> bool:
        return _Forward.__lt__(other, self)


# -- strategies -----------------------------------------------------------------------------------

TEXT = st.text(alphabet="anAsi _%lvbE", max_size=5)
DATES = st.sampled_from(["1975-07-07", "1980-01-01", "1985-06-15", "1990-05-05", "2001-02-03"])
STATUS = st.sampled_from(["ACTIVE", "INACTIVE", "DISCHARGED"])


def _comparison(values: st.SearchStrategy[Any], ops: list[str]) -> st.SearchStrategy[Any]:
    single = st.sampled_from([op for op in ops if op not in ("in", "nin", "isNull")])
    return st.one_of(
        st.tuples(single, values).map(lambda p: {p[0]: p[1]}),
        st.tuples(st.sampled_from(["in", "nin"]), st.lists(values, max_size=3)).map(
            lambda p: {p[0]: p[1]}
        ),
        st.booleans().map(lambda b: {"isNull": b}),
    )


# No gt / lt on text: their answer is the collation's, which the oracle does not know.
NAME_OPS = ["eq", "neq", "like", "ilike", "startsWith", "in", "nin"]
DATE_OPS = ["eq", "neq", "gt", "gte", "lt", "lte", "in", "nin"]
LEAVES = st.one_of(
    _comparison(TEXT, NAME_OPS).map(lambda c: {"name": c}),
    _comparison(DATES, DATE_OPS).map(lambda c: {"birthDate": c}),
    st.tuples(st.sampled_from(["eq", "neq", "in", "nin"]), STATUS).map(
        lambda p: {"status": {p[0]: [p[1]] if p[0] in ("in", "nin") else p[1]}}
    ),
    _comparison(TEXT, NAME_OPS).map(lambda c: {"physiotherapist": {"name": c}}),
)
WHERES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda items: {"and": items}),
        st.lists(inner, max_size=3).map(lambda items: {"or": items}),
        inner.map(lambda item: {"not": item}),
        st.tuples(inner, inner).map(lambda pair: {**pair[0], **pair[1]}),
    ),
    max_leaves=6,
)
ORDERS = st.lists(
    st.sampled_from(["NAME", "BIRTH_DATE", "STATUS"]), unique=True, max_size=3
).flatmap(
    lambda fields: st.tuples(*(st.sampled_from(["_ASC", "_DESC"]) for _ in fields)).map(
        lambda directions: [f + d for f, d in zip(fields, directions, strict=True)]
    )
)


@FUZZ
@given(where=WHERES, order=ORDERS)
def test_where_and_order_mean_what_the_docs_say(
    client: Client, world: tuple[ClinicWorld, list[Row]], where: dict[str, Any], order: list[str]
) -> None:
    clinic, rows = world
    token = clinic.token(clinic.admin)
    body = client.send(QUERY, {"where": where, "orderBy": order}, token)
    assert "errors" not in body, (where, body)
    kept = [row for row in rows if holds(where, row) is True]
    expected = [to_global_id("Patient", i) for i in ordered(kept, order)]
    got = [edge["node"]["id"] for edge in body["data"]["patients"]["edges"]]
    assert got == expected, (where, order)
    assert body["data"]["patients"]["totalCount"] == len(expected)

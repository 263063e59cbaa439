"""Mutations at scale, as every role (and anonymously), through hypothesis-graphql:

- positive mode (documents that pass validation) with ordinary scalar values;
- positive mode with hostile ones: timestamps at year 1 and 9999 with any offset, dates at
  the ends of the calendar, amounts like "1e400", "NaN", "-1", 14 digits, JSON holding NUL
  characters or past its size limit; strings carry NUL characters (`allow_x00`);
- negative mode (one schema violation each: a wrong type, an Int out of range, an unknown
  enum value, a missing input field).

No answer may be a 500 or `INTERNAL`, and no error text may leak SQL, the driver or a file
name (tests/support/fuzzing.py)."""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, nodes

from graph.schema import schema
from graph.security.input_limits import DEFAULT_JSON
from tests.support.factories import ClinicWorld
from tests.support.fuzzing import CUSTOM_SCALARS, FUZZ, Client, check, clients, make_world, tokens


@pytest.fixture(scope="module")
def world(database_url: str) -> ClinicWorld:
    return make_world(database_url)


@pytest.fixture(scope="module")
def client(database_url: str) -> Iterator[Client]:
    yield from clients(database_url)


OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
EDGE_MOMENTS = st.sampled_from(
    [
        datetime(1, 1, 1),
        datetime(1, 1, 1, 3),
        datetime(9999, 12, 31, 23, 59),
        datetime(1899, 12, 31),
    ]
)
HOSTILE_SCALARS = {
    "DateTime": st.one_of(
        st.builds(lambda moment, offset: moment.replace(tzinfo=offset), EDGE_MOMENTS, OFFSETS),
        st.datetimes(timezones=st.just(UTC)),
    ).map(lambda moment: nodes.String(moment.isoformat())),
    "Date": st.sampled_from([date.min, date.max, date(1899, 12, 31), date(2200, 1, 1)]).map(
        lambda day: nodes.String(day.isoformat())
    ),
    "Time": st.sampled_from(
        ["00:00:00", "23:59:59.999999", "12:00:00+14:00", "12:00:00-12:00", "24:00:00", "8"]
    ).map(nodes.String),
    "Decimal": st.sampled_from(
        ["1e400", "-1e400", "NaN", "-1", "0", "12345678901234", "0.001", "1E+2", "Infinity"]
    ).map(nodes.String),
    "JSON": st.one_of(
        st.just(nodes.String("a\x00b")),
        st.just(nodes.String("x" * (DEFAULT_JSON + 1))),
        st.integers(2**64, 2**80).map(nodes.Int),
    ),
}


@FUZZ
@given(document=mutations(schema._schema, custom_scalars=CUSTOM_SCALARS))
def test_generated_mutations_as_every_role(
    client: Client, world: ClinicWorld, document: str
) -> None:
    check(client, document, tokens(world))


@FUZZ
@given(document=mutations(schema._schema, custom_scalars=HOSTILE_SCALARS, allow_x00=True))
def test_mutations_with_hostile_values_as_every_role(
    client: Client, world: ClinicWorld, document: str
) -> None:
    check(client, document, tokens(world))


@FUZZ
@given(document=mutations(schema._schema, custom_scalars=CUSTOM_SCALARS, mode=Mode.NEGATIVE))
def test_invalid_mutations_as_every_role(client: Client, world: ClinicWorld, document: str) -> None:
    codes = check(client, document, tokens(world))
    assert codes, f"a document with a schema violation was accepted:\n{document}"

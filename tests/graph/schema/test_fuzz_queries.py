"""Bad input at scale: hypothesis-graphql writes valid queries from the schema, and each is
sent as every role (and anonymously). No answer may be a 500 or `INTERNAL`, no error text
may leak SQL, the driver or a file name, and compiled answers equal the resolvers'
(tests/support/fuzzing.py). Mutations: tests/graph/schema/test_fuzz_mutations.py."""

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis_graphql import queries

from graph.schema import schema
from tests.support.factories import ClinicWorld
from tests.support.fuzzing import CUSTOM_SCALARS, FUZZ, Client, check, clients, make_world, tokens


@pytest.fixture(scope="module")
def world(database_url: str) -> ClinicWorld:
    return make_world(database_url)


@pytest.fixture(scope="module")
def client(database_url: str) -> Iterator[Client]:
    yield from clients(database_url)


@FUZZ
@given(document=queries(schema._schema, custom_scalars=CUSTOM_SCALARS))
def test_generated_queries_as_every_role(client: Client, world: ClinicWorld, document: str) -> None:
    check(client, document, tokens(world))

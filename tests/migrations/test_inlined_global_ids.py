"""Migration 0012: global IDs in compiled statements are inlined expressions, not calls."""

import json

import asyncpg


async def _plan(superuser: asyncpg.Connection) -> str:
    rows = await superuser.fetch(
        "explain (verbose, format json)"
        " select gql_global_id('Patient', id) from (select gen_random_uuid() as id) t"
    )
    return json.dumps(json.loads(rows[0][0]))


async def test_global_ids_are_inlined_and_unchanged(superuser: asyncpg.Connection) -> None:
    plan = await _plan(superuser)
    assert "gql_global_id" not in plan and "gql_base64url" not in plan
    assert "convert_to" in plan  # the body, in the query
    value = await superuser.fetchval(
        "select gql_global_id('Patient', 'a3e1c6ba-0c2d-4c1f-9a5e-1b2c3d4e5f60')"
    )
    assert value == "UGF0aWVudDphM2UxYzZiYS0wYzJkLTRjMWYtOWE1ZS0xYjJjM2Q0ZTVmNjA"

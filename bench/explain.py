"""EXPLAIN (ANALYZE, BUFFERS) of the queries the list indexes are for, with and without them.

    DATABASE_URL=postgresql://... .venv/bin/python bench/explain.py [--scale 10]
        [--patients 20000] [--clinics 10] [--out bench/explain] [--only agenda,revenue,...]

The database is bench/run.py's (the same `--scale`, `--patients` and `--clinics`; run
bench/run.py first to seed it). As bench/run.py's caller, the receptionist of the first
clinic, under RLS: one transaction per plan sets the identity as the ceiling does
(bench/ceiling.py IDENTITY_SQL), prepares the statement, executes it five times (PostgreSQL
then settles on the plan a pooled prepared statement keeps, custom or generic), explains the
sixth execution and rolls back. "without" first drops the query's index inside that
transaction, so the rollback restores it.

Per query of `QUERIES` (the benchmark's agenda and revenue, the revenue of one month, and the
orders the other indexes of migration 0011 serve): the hand-written SQL (the ceiling's for the
agenda and the revenue) and the SQL the server compiles for its document (graph/sql/compiler;
skipped, with a note, while the compiler declines it). Plans go to
`<out>/<query>-<hand|compiled>-<with|without>.txt`.
"""

import argparse
import asyncio
import json
import secrets
import shlex
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from graphql import parse, validate
from graphql.utilities import get_operation_ast

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import ceiling  # noqa: E402
import run  # noqa: E402

from graph.core.calendar import CLINIC_TIME_ZONE  # noqa: E402
from graph.core.cursors import CursorCodec  # noqa: E402
from graph.extensions.compiled_queries import ValidatedOperation, coerce_variables  # noqa: E402
from graph.schema import COMPILED, schema  # noqa: E402
from graph.sql.compiler import compile_operation  # noqa: E402
from graph.sql.compiler.plan import Unsupported  # noqa: E402

EXECUTIONS_BEFORE = 5  # PostgreSQL's custom plans before it may switch to a generic one
PAGE = 20


@dataclass(frozen=True)
class Explained:
    """A query an index is for: its GraphQL document, the index, and the SQL a good engineer
    would write for it by hand (None: the ceiling's, bench/ceiling.py)."""

    document: str
    index: str
    sql: str | None = None


QUERIES: dict[str, Explained] = {
    "agenda": Explained(run.QUERIES["agenda"], "appointments_physiotherapist_starts_idx"),
    "revenue": Explained(run.QUERIES["revenue"], "payments_clinic_status_paid_idx"),
    "revenue_month": Explained(run.QUERIES["revenue"], "payments_clinic_status_paid_idx"),
    "patients_birth_date": Explained(
        f"{{ patients(first: {PAGE}, orderBy: [BIRTH_DATE_DESC])"
        " { edges { node { id name birthDate } } } }",
        "patients_clinic_birth_date_idx",
        "select id, name, birth_date from patients"
        f" order by birth_date desc nulls first, id desc limit {PAGE + 1}",
    ),
    "patients_newest": Explained(
        f"{{ patients(first: {PAGE}, orderBy: [CREATED_AT_DESC])"
        " { edges { node { id name createdAt } } } }",
        "patients_clinic_created_idx",
        f"select id, name, created_at from patients order by created_at desc, id desc"
        f" limit {PAGE + 1}",
    ),
    "payments_due": Explained(
        f"{{ payments(first: {PAGE}, where: {{status: {{eq: PENDING}}}},"
        " orderBy: [DUE_DATE_ASC]) { edges { node { id amount dueDate } } } }",
        "payments_clinic_due_idx",
        "select id, amount, due_date from payments where status = 'pending'"
        f" order by due_date, id limit {PAGE + 1}",
    ),
}


def compiled(
    document: str, variables: dict[str, Any], fixture: run.Fixture
) -> tuple[str, list[Any]]:
    """The server's SQL for a document and its one text[] argument; Unsupported if declined."""
    parsed = parse(document)
    if errors := validate(schema._schema, parsed):
        raise Unsupported(f"not in the schema: {errors[0].message}")
    operation = get_operation_ast(parsed)
    assert operation is not None
    coerced = coerce_variables(schema._schema, operation, variables)
    assert coerced is not None, f"invalid variables {variables}"
    ready = ValidatedOperation(schema, COMPILED, parsed, operation)
    plan = compile_operation(
        COMPILED, parsed, None, coerced, ready.convert_input, ready.graphql_schema
    )
    cursors = CursorCodec.from_secret(secrets.token_urlsafe(48))  # any key: plans only
    return plan.sql, [plan.arguments(coerced, cursors, fixture.identity)]


def variables_of(name: str, bodies: run.Bodies) -> dict[str, Any]:
    """bench/run.py's variables; revenue_month: the revenue's last month alone."""
    if name == "revenue_month":
        variables: dict[str, Any] = bodies.read("revenue")["variables"]
        end = datetime.fromisoformat(variables["to"]).astimezone(CLINIC_TIME_ZONE)
        variables["from"] = run.utc_text((end - timedelta(days=1)).replace(day=1))
        return variables
    return dict(bodies.read(name)["variables"]) if name in run.QUERIES else {}


def hand_written(name: str, variables: dict[str, Any]) -> tuple[str, list[Any]]:
    """The hand-written SQL of a query and its arguments."""
    sql = QUERIES[name].sql
    if sql is not None:
        return sql, []
    window = (ceiling.moment(variables, "from"), ceiling.moment(variables, "to"))
    if name == "agenda":
        physio = ceiling.uuid_of(variables["physio"], "Physiotherapist", "physio")
        return ceiling.AGENDA_SQL, [physio, *window]
    return ceiling.REVENUE_SQL, list(window)


async def literal(connection: asyncpg.Connection, value: Any) -> str:
    """A statement argument as an SQL literal (EXECUTE takes no bind parameters)."""
    if isinstance(value, list):
        text = await connection.fetchval("select $1::text[]::text", value)
    else:
        text = value.isoformat() if isinstance(value, datetime) else str(value)
    return str(await connection.fetchval("select quote_literal($1::text)", text))


async def explain(
    url: str, identity: tuple[str, ...], sql: str, args: list[Any], drop: list[str]
) -> str:
    """The plan of the statement's sixth execution as a prepared statement (as the server's
    fast path and asyncpg's statement cache run it), in a transaction rolled back."""
    connection = await asyncpg.connect(run.plain_dsn(url))
    try:
        literals = [await literal(connection, arg) for arg in args]
        execute = "EXECUTE bench_explain" + (f"({', '.join(literals)})" if literals else "")
        async with connection.transaction():
            for index in drop:
                await connection.execute(f"DROP INDEX {index}")
            await connection.execute(ceiling.inline_identity(identity).removeprefix("BEGIN; "))
            await connection.execute(f"PREPARE bench_explain AS {sql}")
            for _ in range(EXECUTIONS_BEFORE):
                await connection.execute(execute)
            rows = await connection.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {execute}")
            raise Rollback
    except Rollback:
        pass
    finally:
        await connection.close()
    return "\n".join(row[0] for row in rows)


class Rollback(Exception):
    """Ends the transaction of `explain` (the dropped indexes come back)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=20_000, help="patients at scale 1")
    parser.add_argument("--clinics", type=int, default=10)
    parser.add_argument("--scale", type=int, choices=(1, 10), default=10)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "explain")
    parser.add_argument("--only", default=",".join(QUERIES), help="names, comma-separated")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    patients = args.patients * args.scale
    command_line = shlex.join([".venv/bin/python", "bench/explain.py", *sys.argv[1:]])
    with run.database(args.scale) as url:
        fixture = asyncio.run(run.load_fixture(url, args.clinics, patients))
        identity = (
            str(fixture.identity.user_id),
            str(fixture.clinic_id),
            fixture.identity.role.value,
            "",
            "",
            str(ceiling.STATEMENT_TIMEOUT_MS),
        )
        bodies = run.Bodies(fixture, "")
        for name, query in QUERIES.items():
            if name not in args.only.split(","):
                continue
            variables = variables_of(name, bodies)
            statements = {"hand": hand_written(name, variables)}
            try:
                statements["compiled"] = compiled(query.document, variables, fixture)
            except Unsupported as declined:
                print(f"{name}: the compiler declines it ({declined}); no compiled plan")
            for source, (sql, arguments) in statements.items():
                for state, drop in (("with", []), ("without", [query.index])):
                    plan = asyncio.run(explain(url, identity, sql, arguments, drop))
                    header = (
                        f"-- {name}: {source} SQL, {state} {query.index}"
                        f"\n-- {patients:,} patients in {args.clinics} clinics, PostgreSQL"
                        f" {fixture.pg_version}, as the receptionist of the first clinic (RLS)"
                        f"\n-- document: {query.document}\n-- variables: {json.dumps(variables)}"
                        f"\n-- {command_line}\n"
                    )
                    path = args.out / f"{name}-{source}-{state}.txt"
                    path.write_text(header + plan + "\n")
                    print(f"{path}: {plan.splitlines()[-1]}", flush=True)


if __name__ == "__main__":
    main()

"""The raw-SQL ceiling of the benchmark: what the six benchmark operations cost with nothing but
Starlette, asyncpg and one hand-written SQL statement each.

    DATABASE_URL=postgresql://... FISIOFLOW_JWT_SECRET=... \\
        .venv/bin/python -m uvicorn --app-dir bench ceiling:create_app --factory --port 8001

`bench/run.py` starts it for you. Routes:
`POST /graphql/{point|nested|three_level|agenda|revenue|mutation}`
takes the same JSON body as the GraphQL server (the `query` text is ignored, the `variables` are
read) and the same `Authorization: Bearer <JWT>` header, and answers with the same JSON, built
in PostgreSQL (json_build_object / json_agg, LATERAL-style correlated subqueries for the
per-parent limits) and sent as the HTTP body `{"data": ...}`. `GET /stats` reports how many
requests, SQL statements and round trips it has sent (counted here, in code); `GET /healthz`.

Same identity and RLS as the server (graph/sql/session.py): each request is one transaction that
starts with the single `set_config` statement of `IDENTITY_SQL` (`role` = `SET LOCAL ROLE
fisioflow_app`, then app.user_id, app.clinic_id, app.role, app.physiotherapist_id,
app.patient_id and statement_timeout, all transaction-local) taken from the verified HS256 JWT.

Round trips (`CEILING_ROUND_TRIPS`, default 3):
- 3: `BEGIN; SELECT set_config(...)` as one simple-protocol message (the identity values are
  inlined as literals: they come from a verified token and are re-validated here as UUIDs and
  one of four role names, so nothing a client wrote reaches the SQL text), then the operation's
  prepared statement, then `COMMIT`: what a hand-written asyncpg service does.
- 4: asyncpg's usual `BEGIN`, the identity statement prepared with parameters, the statement,
  `COMMIT` (what PostGraphile spends).
- 1: the server's own fast-path technique (migration 0007): every statement is prepared once
  per connection over one `text[]` parameter, and a request is one call of `gql_execute`,
  which sets the identity, checks that the login is active and runs it, in an implicit
  transaction. `bench/run.py --ceiling-round-trips 1` measures the server against this.
asyncpg cannot pipeline two different statements before one Sync, and a simple-protocol
message returns no rows: fewer than 3 round trips needs that function. The pool's per-release
reset (`RESET ALL`, `UNLISTEN *`, ... : one more round trip per request) is turned off: every
setting is transaction-local and every transaction is ended here; asyncpg still rolls back a
connection released inside a transaction.
"""

import base64
import binascii
import os
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import jwt
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ROLES = frozenset({"admin", "physiotherapist", "receptionist", "patient"})
CLINIC_TIME_ZONE = "America/Sao_Paulo"  # graph/core/calendar.py: time buckets are the clinic's
APPOINTMENT_TYPES = frozenset({"EVALUATION", "SESSION", "REEVALUATION", "TELECONSULTATION"})
STATEMENT_TIMEOUT_MS = 5000  # the server's default (graph/core/settings.py)


def gid(type_name: str, column: str) -> str:
    """SQL for graph.ids.to_global_id: base64url of "Type:uuid", no padding (PostgreSQL's
    base64 breaks lines every 76 characters; `translate` drops the newlines)."""
    return (
        f"rtrim(translate(encode(convert_to('{type_name}:' || {column}::text, 'UTF8'),"
        f" 'base64'), E'+/\\n', '-_'), '=')"
    )


def dt(column: str) -> str:
    """SQL for a timestamptz as Python's isoformat() of the UTC datetime asyncpg returns (what
    Strawberry's DateTime sends): microseconds only when not zero, offset +00:00."""
    utc = f"({column} at time zone 'UTC')"
    return (
        f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS')"
        f" || case when extract(microseconds from {column})::bigint % 1000000 <> 0"
        f" then to_char({utc}, '.US') else '' end || '+00:00'"
    )


# a. point: query($id: ID!) { node(id: $id) { ... on Patient { id name email phone birthDate
#    cpf status } } }
POINT_SQL = f"""
select json_build_object('node', (
    select json_build_object(
        'id', {gid("Patient", "p.id")}, 'name', p.name, 'email', p.email, 'phone', p.phone,
        'birthDate', to_char(p.birth_date, 'YYYY-MM-DD'), 'cpf', p.cpf, 'status', upper(p.status))
    from patients p where p.id = $1))::text
"""

# b. nested: { patients(first: 50) { edges { node { id name physiotherapist { id name }
#    appointments(last: 10) { edges { node { id startsAt status payments { id amount status }
#    } } } } } } }  -- patients by (name, id); the last 10 appointments by (starts_at, id), shown
#    in ascending order; payments by (created_at, id).
NESTED_SQL = f"""
select json_build_object('patients', json_build_object('edges', coalesce(json_agg(
    json_build_object('node', json_build_object(
        'id', {gid("Patient", "p.id")},
        'name', p.name,
        'physiotherapist', (
            select json_build_object('id', {gid("Physiotherapist", "ph.id")}, 'name', ph.name)
            from physiotherapists ph where ph.id = p.physiotherapist_id),
        'appointments', json_build_object('edges', (
            select coalesce(json_agg(json_build_object('node', json_build_object(
                'id', {gid("Appointment", "a.id")},
                'startsAt', {dt("a.starts_at")},
                'status', upper(a.status),
                'payments', (
                    select coalesce(json_agg(json_build_object(
                        'id', {gid("Payment", "pay.id")},
                        'amount', pay.amount::text,
                        'status', upper(pay.status)) order by pay.created_at, pay.id), '[]')
                    from payments pay where pay.appointment_id = a.id)))
                order by a.starts_at, a.id), '[]')
            from (select id, starts_at, status from appointments
                  where patient_id = p.id order by starts_at desc, id desc limit 10) a))))
    order by p.name, p.id), '[]')))::text
from (select id, name, physiotherapist_id from patients order by name, id limit 50) p
"""

# d. three levels: { physiotherapists(first: 10) { edges { node { id name patients(first: 10)
#    { edges { node { id name appointments(first: 5) { edges { node { id startsAt status } } }
#    } } } } } } }
THREE_LEVEL_SQL = f"""
select json_build_object('physiotherapists', json_build_object('edges', coalesce(json_agg(
    json_build_object('node', json_build_object(
        'id', {gid("Physiotherapist", "ph.id")},
        'name', ph.name,
        'patients', json_build_object('edges', (
            select coalesce(json_agg(json_build_object('node', json_build_object(
                'id', {gid("Patient", "p.id")},
                'name', p.name,
                'appointments', json_build_object('edges', (
                    select coalesce(json_agg(json_build_object('node', json_build_object(
                        'id', {gid("Appointment", "a.id")},
                        'startsAt', {dt("a.starts_at")},
                        'status', upper(a.status))) order by a.starts_at, a.id), '[]')
                    from (select id, starts_at, status from appointments
                          where patient_id = p.id order by starts_at, id limit 5) a))))
                order by p.name, p.id), '[]')
            from (select id, name from patients
                  where physiotherapist_id = ph.id order by name, id limit 10) p))))
    order by ph.name, ph.id), '[]')))::text
from (select id, name from physiotherapists order by name, id limit 10) ph
"""

# e. agenda: query($physio: ID!, $from: DateTime!, $to: DateTime!) { appointments(first: 50,
#    where: {physiotherapist: {id: {eq: $physio}}, startsAt: {gte: $from, lt: $to},
#    status: {in: [SCHEDULED, CONFIRMED]}}, orderBy: [STARTS_AT_ASC]) { edges { node { id startsAt
#    endsAt status type patient { id name } } } } }  -- a physiotherapist's week by (starts_at, id)
AGENDA_SQL = f"""
select json_build_object('appointments', json_build_object('edges', coalesce(json_agg(
    json_build_object('node', json_build_object(
        'id', {gid("Appointment", "a.id")},
        'startsAt', {dt("a.starts_at")},
        'endsAt', {dt("a.ends_at")},
        'status', upper(a.status),
        'type', upper(a.type),
        'patient', (
            select json_build_object('id', {gid("Patient", "p.id")}, 'name', p.name)
            from patients p where p.id = a.patient_id)))
    order by a.starts_at, a.id), '[]')))::text
from (select id, starts_at, ends_at, status, type, patient_id from appointments
      where physiotherapist_id = $1 and starts_at >= $2 and starts_at < $3
        and status in ('scheduled', 'confirmed')
      order by starts_at, id limit 50) a
"""

# f. revenue: query($from: DateTime!, $to: DateTime!) { paymentsAggregate(where: {status: {eq:
#    PAID}, paidAt: {gte: $from, lt: $to}}, groupBy: [PAID_AT_MONTH, METHOD]) { groups(first: 100)
#    { key { paidAtMonth method } count sum { amount } } } }  -- the month in the clinic's time
#    zone; groups by their key, in groupBy's order
REVENUE_SQL = f"""
select json_build_object('paymentsAggregate', json_build_object('groups', coalesce(json_agg(
    json_build_object(
        'key', json_build_object(
            'paidAtMonth', to_char(g.month, 'YYYY-MM-DD'), 'method', upper(g.method)),
        'count', g.count,
        'sum', json_build_object('amount', g.amount::text))
    order by g.month, g.method), '[]')))::text
from (select date_trunc('month', paid_at at time zone '{CLINIC_TIME_ZONE}')::date as month,
             method, count(*) as count, sum(amount) as amount
      from payments
      where status = 'paid' and paid_at >= $1 and paid_at < $2
      group by 1, 2 order by 1, 2 limit 100) g
"""

# c. mutation: scheduleAppointment(input: {...}) { id startsAt status }. One statement: the
#    insert only happens when the caller can see both the patient and the physiotherapist (the
#    server checks the same, in statements of its own); RLS checks the inserted row; the
#    exclusion constraint refuses a double booking (SLOT_UNAVAILABLE).
MUTATION_SQL = f"""
insert into appointments (clinic_id, patient_id, physiotherapist_id, starts_at, ends_at, type)
select $1, $2, $3, $4::timestamptz, $4::timestamptz + make_interval(mins => $5::int), $6
where exists (select from patients where id = $2)
  and exists (select from physiotherapists where id = $3)
returning json_build_object('scheduleAppointment', json_build_object(
    'id', {gid("Appointment", "id")}, 'startsAt', {dt("starts_at")},
    'status', upper(status)))::text
"""

IDENTITY_SQL = (
    "select set_config('role', 'fisioflow_app', true),"
    " set_config('app.user_id', $1, true),"
    " set_config('app.clinic_id', $2, true),"
    " set_config('app.role', $3, true),"
    " set_config('app.physiotherapist_id', $4, true),"
    " set_config('app.patient_id', $5, true),"
    " set_config('statement_timeout', $6, true)"
)


STATEMENTS = {
    "point": POINT_SQL,
    "nested": NESTED_SQL,
    "three_level": THREE_LEVEL_SQL,
    "agenda": AGENDA_SQL,
    "revenue": REVENUE_SQL,
    "mutation": MUTATION_SQL,
}
# Round trips = 1: each statement over one text[] parameter, cast back to these types.
PARAMETER_TYPES = {
    "point": ("uuid",),
    "nested": (),
    "three_level": (),
    "agenda": ("uuid", "timestamptz", "timestamptz"),
    "revenue": ("timestamptz", "timestamptz"),
    "mutation": ("uuid", "uuid", "uuid", "timestamptz", "int", "text"),
}


def over_text_array(sql: str, types: tuple[str, ...]) -> str:
    """`$n` → `($1::text[])[n]::type`, in one pass."""
    return re.sub(r"\$(\d+)", lambda m: f"($1::text[])[{m[1]}]::{types[int(m[1]) - 1]}", sql)


def prepare_all() -> str:
    """Every statement prepared as fisioflow_app, once per connection (round trips = 1)."""
    prepared = "; ".join(
        f"PREPARE ceiling_{name}(text[]) AS {over_text_array(sql, PARAMETER_TYPES[name])}"
        for name, sql in STATEMENTS.items()
    )
    return f"SET ROLE fisioflow_app; {prepared}; RESET ROLE"


def as_text(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


class GraphQLError(Exception):
    def __init__(self, code: str, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def identity_values(authorization: str | None, secret: str) -> tuple[str, ...]:
    """(user_id, clinic_id, role, physiotherapist_id, patient_id, statement_timeout) of a valid
    token, each a canonical UUID, '' or a known role name; UNAUTHENTICATED otherwise."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise GraphQLError("UNAUTHENTICATED", "Invalid or expired token", 401)
    try:
        claims = jwt.decode(
            token.strip(),
            secret,
            algorithms=["HS256"],
            options={"require": ["exp", "sub", "clinic_id", "role"]},
        )
        role = str(claims["role"])
        if role not in ROLES:
            raise ValueError(role)

        def optional(name: str) -> str:
            value = claims.get(name)
            return str(uuid.UUID(str(value))) if value else ""

        return (
            str(uuid.UUID(str(claims["sub"]))),
            str(uuid.UUID(str(claims["clinic_id"]))),
            role,
            optional("physiotherapist_id"),
            optional("patient_id"),
            str(STATEMENT_TIMEOUT_MS),
        )
    except (jwt.InvalidTokenError, ValueError, KeyError, TypeError):
        raise GraphQLError("UNAUTHENTICATED", "Invalid or expired token", 401) from None


def inline_identity(values: tuple[str, ...]) -> str:
    """`BEGIN` and the identity statement as one simple-protocol message. Every value is a
    canonical UUID, '' , a role name or digits (see identity_values): safe as a literal."""
    sql = IDENTITY_SQL
    for n, value in reversed(list(enumerate(values, start=1))):
        sql = sql.replace(f"${n}", f"'{value}'")
    return "BEGIN; " + sql


def uuid_of(global_id: Any, type_name: str, field: str) -> uuid.UUID | None:
    """The uuid behind a global ID of `type_name`; None for another type; BAD_USER_INPUT when
    malformed (as graph.ids.parse_global_id)."""
    try:
        text = str(global_id)
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        kind, _, local = raw.partition(":")
        return uuid.UUID(local) if kind == type_name else None
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise GraphQLError("BAD_USER_INPUT", f"Malformed ID ({field})") from None


def moment(variables: dict[str, Any], name: str) -> datetime:
    """A DateTime variable (ISO 8601 with an offset); BAD_USER_INPUT otherwise."""
    try:
        value = datetime.fromisoformat(str(variables[name]))
    except (KeyError, ValueError):
        raise GraphQLError("BAD_USER_INPUT", f"{name} must be a DateTime") from None
    if value.tzinfo is None:
        raise GraphQLError("BAD_USER_INPUT", f"{name} needs a time zone offset")
    return value


def schedule_args(clinic_id: str, variables: dict[str, Any]) -> tuple[Any, ...]:
    data = variables.get("input") or {}
    patient = uuid_of(data.get("patientId"), "Patient", "patientId")
    physio = uuid_of(data.get("physiotherapistId"), "Physiotherapist", "physiotherapistId")
    if patient is None or physio is None:
        raise GraphQLError("NOT_FOUND", "Patient or physiotherapist not found")
    try:
        starts_at = datetime.fromisoformat(str(data["startsAt"]))
        minutes = int(data["durationMinutes"])
        kind = str(data["type"])
    except (KeyError, ValueError, TypeError):
        raise GraphQLError("BAD_USER_INPUT", "startsAt, durationMinutes and type") from None
    if starts_at.tzinfo is None or starts_at < datetime.now(UTC) or not 5 <= minutes <= 480:
        raise GraphQLError("BAD_USER_INPUT", "startsAt must be in the future, 5-480 minutes")
    if kind not in APPOINTMENT_TYPES:
        raise GraphQLError("BAD_USER_INPUT", "type")
    return (uuid.UUID(clinic_id), patient, physio, starts_at, minutes, kind.lower())


class Ceiling:
    def __init__(self, database_url: str, secret: str, pool_size: int, round_trips: int) -> None:
        self.database_url = database_url
        self.secret = secret
        self.pool_size = pool_size
        self.round_trips = round_trips
        self.pool: asyncpg.Pool | None = None
        self.requests = 0
        self.statements = 0
        self.trips = 0

    async def start(self) -> None:
        async def no_reset(connection: asyncpg.Connection) -> None:
            return None

        async def prepare(connection: asyncpg.Connection) -> None:
            if self.round_trips == 1:
                await connection.execute(prepare_all())

        settings = {"application_name": "fisioflow-ceiling", "jit": "off"}
        if self.round_trips == 1:  # gql_execute's one statement: the timeout is the session's
            settings["statement_timeout"] = str(STATEMENT_TIMEOUT_MS)
        self.pool = await asyncpg.create_pool(
            self.database_url,
            min_size=self.pool_size,
            max_size=self.pool_size,
            reset=no_reset,
            init=prepare,
            server_settings=settings,
        )

    async def stop(self) -> None:
        if self.pool is not None:
            await self.pool.close()

    async def run(
        self, identity: tuple[str, ...], operation: str, args: tuple[Any, ...]
    ) -> str | None:
        """One transaction: identity, the statement, commit (rollback on any error)."""
        assert self.pool is not None
        self.requests += 1
        if self.round_trips == 1:
            return await self.run_in_one(identity, operation, args)
        sql = STATEMENTS[operation]
        async with self.pool.acquire() as connection:
            if self.round_trips == 3:
                await connection.execute(inline_identity(identity))
                self.trips += 1
            else:
                await connection.execute("BEGIN")
                await connection.fetchval(IDENTITY_SQL, *identity)
                self.trips += 2
            self.statements += 1
            try:
                result: str | None = await connection.fetchval(sql, *args)
                self.statements += 1
                self.trips += 1
            except BaseException:
                self.trips += 2
                await connection.execute("ROLLBACK")
                raise
            await connection.execute("COMMIT")
            self.trips += 1
        return result

    async def run_in_one(
        self, identity: tuple[str, ...], operation: str, args: tuple[Any, ...]
    ) -> str | None:
        """The server's fast path technique (migrations 0007, 0008): one call of gql_execute
        checks the identity against the login's row, sets it and runs the prepared statement."""
        assert self.pool is not None
        user, clinic, role, physio, patient, _ = identity
        result: str | None = await self.pool.fetchval(
            "select gql_execute($1, $2, $3, $4, $5, $6, $7, $8)",
            uuid.UUID(user),
            uuid.UUID(clinic),
            role,
            uuid.UUID(physio) if physio else None,
            uuid.UUID(patient) if patient else None,
            None,
            f"ceiling_{operation}",
            [as_text(arg) for arg in args],
        )
        self.statements += 1
        self.trips += 1
        return result

    async def graphql(self, request: Request) -> Response:
        operation = request.path_params["operation"]
        try:
            identity = identity_values(request.headers.get("authorization"), self.secret)
            body = orjson.loads(await request.body())
            variables = body.get("variables") or {}
            if operation == "point":
                patient = uuid_of(variables.get("id"), "Patient", "id")
                if patient is None:
                    return Response(b'{"data":{"node":null}}', media_type="application/json")
                data = await self.run(identity, operation, (patient,))
            elif operation in ("nested", "three_level"):
                data = await self.run(identity, operation, ())
            elif operation == "agenda":
                physio = uuid_of(variables.get("physio"), "Physiotherapist", "physio")
                window = (moment(variables, "from"), moment(variables, "to"))
                if physio is None:  # an id of another type matches no appointment
                    return Response(
                        b'{"data":{"appointments":{"edges":[]}}}', media_type="application/json"
                    )
                data = await self.run(identity, operation, (physio, *window))
            elif operation == "revenue":
                window = (moment(variables, "from"), moment(variables, "to"))
                data = await self.run(identity, operation, window)
            elif operation == "mutation":
                args = schedule_args(identity[1], variables)
                try:
                    data = await self.run(identity, operation, args)
                except asyncpg.ExclusionViolationError:
                    raise GraphQLError("SLOT_UNAVAILABLE", "That time slot is taken") from None
                if data is None:
                    raise GraphQLError("NOT_FOUND", "Patient or physiotherapist not found")
            else:
                return Response(b'{"error":"no such operation"}', status_code=404)
        except GraphQLError as error:
            body = {
                "data": None,
                "errors": [{"message": str(error), "extensions": {"code": error.code}}],
            }
            return Response(orjson.dumps(body), error.status, media_type="application/json")
        except orjson.JSONDecodeError:
            return Response(b'{"errors":[{"message":"Malformed JSON"}]}', 400)
        except (asyncpg.PostgresError, OSError) as error:  # masked, like the server's INTERNAL
            print(f"ceiling: {type(error).__name__}: {error}", flush=True)
            body = {
                "data": None,
                "errors": [{"message": "Internal error", "extensions": {"code": "INTERNAL"}}],
            }
            return Response(orjson.dumps(body), 500, media_type="application/json")
        return Response(
            b'{"data":' + (data or "null").encode() + b"}", media_type="application/json"
        )

    async def stats(self, request: Request) -> Response:
        body = {"requests": self.requests, "statements": self.statements, "round_trips": self.trips}
        return Response(orjson.dumps(body), media_type="application/json")

    async def healthz(self, request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")


def create_app() -> Starlette:
    ceiling = Ceiling(
        os.environ["DATABASE_URL"],
        os.environ["FISIOFLOW_JWT_SECRET"],
        int(os.environ.get("FISIOFLOW_POOL_SIZE", "10")),  # the server's default pool size
        int(os.environ.get("CEILING_ROUND_TRIPS", "3")),
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await ceiling.start()
        try:
            yield
        finally:
            await ceiling.stop()

    return Starlette(
        routes=[
            Route("/graphql/{operation}", ceiling.graphql, methods=["POST"]),
            Route("/stats", ceiling.stats),
            Route("/healthz", ceiling.healthz),
        ],
        lifespan=lifespan,
    )

"""A request's database work: one connection, held from first use to `finish`, and on it one
transaction at a time, each opened on first use under the caller's identity (RLS).

A request may end its current transaction and go on in a fresh one under the same identity
(`end_transaction`): each root mutation field is its own unit (graph/extensions/units.py) and each
operation of an HTTP batch its own transaction (graph/http/view.py).

Reads of clinical records are audited (graph/api/audit_reads.py) in the open transaction, and
RequestDb keeps them until that transaction commits: if it ends any other way (a rollback, a
failed commit, an aborted transaction), they are written again at once in a short transaction
of their own on the same connection, so the trail stays whatever else the request does. A
subscription event's scope commits each batch of them at once (`reads_commit_at_once`): they
are durable before the event leaves the server.

A query may read from a streaming replica (graph/sql/replicas.py), where nothing can be
written: its audited reads are then written on the primary (`audit_engine`), in a short
transaction of their own when the replica's transaction ends, and `finish` fails the response
if they could not be.

Strawberry resolves sibling fields concurrently, so the request's connection is guarded by
a lock: one statement at a time, whichever resolver or dataloader asks.
"""

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any

from sqlalchemy import Executable, RowMapping, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.types import Uuid

from graph.core.cursors import CursorCodec
from graph.core.errors import (
    DATABASE_ERRORS,
    INTERNAL,
    UNAUTHENTICATED,
    ApiError,
    from_database_error,
)
from graph.core.identity import Identity

log = logging.getLogger("fisioflow.session")

# `set_config('role', ..., true)` is `SET LOCAL ROLE`: RLS applies whatever role the pool
# logged in as, and like the identity settings it ends with the transaction. The same round
# trip checks the identity against the login's `users` row (auth_login_matches, migration
# 0008): a deactivated (e.g. anonymized) login's unexpired token stops working at once, and a
# token whose clinic, role, physiotherapist or patient differ from the row's never works, nor
# one whose token version the login has left behind (a password change, migration 0016).
IDENTITY_SQL = text(
    "select set_config('role', 'fisioflow_app', true),"
    " set_config('app.user_id', :user_id, true),"
    " set_config('app.clinic_id', :clinic_id, true),"
    " set_config('app.role', :role, true),"
    " set_config('app.physiotherapist_id', :physiotherapist_id, true),"
    " set_config('app.patient_id', :patient_id, true),"
    " set_config('jit', 'off', true),"
    " set_config('statement_timeout',"
    " coalesce(:statement_timeout, current_setting('statement_timeout')), true),"
    " auth_login_matches(nullif(:user_id, '')::uuid, nullif(:clinic_id, '')::uuid,"
    " nullif(:role, ''), nullif(:physiotherapist_id, '')::uuid,"
    " nullif(:patient_id, '')::uuid, nullif(:external_subject, ''),"
    " nullif(:token_version, '')::integer) as login_matches"
)
# The engine's per-statement time limit (graph.database.create_engine), in milliseconds: set in
# the identity statement above, so it costs no round trip. SQLSTATE 57014 when it runs out.
STATEMENT_TIMEOUT_OPTION = "fisioflow_statement_timeout_ms"
# One audit row (operation 'SELECT') per record read, under the caller's identity (migration
# 0005's SECURITY DEFINER function).
RECORD_READS_SQL = text("select audit_record_reads(:table_name, :ids)").bindparams(
    bindparam("ids", type_=ARRAY(Uuid()))
)
# The same for each of `readers` (a fan-out group's members who receive the event, migration
# 0022): one statement, one row per record and reader, under each reader's own user id.
RECORD_READS_FOR_SQL = text(
    "select audit_record_reads_for(:table_name, :ids, :readers)"
).bindparams(bindparam("ids", type_=ARRAY(Uuid())), bindparam("readers", type_=ARRAY(Uuid())))


def identity_settings(identity: Identity | None) -> dict[str, str]:
    if identity is None:
        return dict.fromkeys(
            (
                "user_id",
                "clinic_id",
                "role",
                "physiotherapist_id",
                "patient_id",
                "external_subject",
                "token_version",
            ),
            "",
        )
    return {
        "user_id": str(identity.user_id),
        "clinic_id": str(identity.clinic_id),
        "role": identity.role.value,
        "physiotherapist_id": str(identity.physiotherapist_id or ""),
        "patient_id": str(identity.patient_id or ""),
        "external_subject": identity.external_subject or "",
        "token_version": "" if identity.token_version is None else str(identity.token_version),
    }


class RequestDb:
    """The request's database work, as the caller's identity (see the module's docstring)."""

    def __init__(
        self,
        engine: AsyncEngine,
        identity: Identity | None,
        *,
        reads_commit_at_once: bool = False,
        cursors: CursorCodec | None = None,
        readers: Sequence[uuid.UUID] | None = None,
        audit_engine: AsyncEngine | None = None,
    ) -> None:
        self._engine = engine
        # Where audited reads are written when `engine` is a replica (None: in the open
        # transaction on `engine`).
        self._audit_engine = audit_engine
        # Whose reads the audited rows are: the caller's, or these logins' of the caller's
        # cohort (a fan-out group's receiving members, graph/realtime/groups.py).
        self._readers = None if readers is None else list(readers)
        self._identity = identity
        self._cursors = cursors
        self._reads_commit_at_once = reads_commit_at_once
        self._lock = asyncio.Lock()
        self._connection: AsyncConnection | None = None
        self._in_transaction = False
        self._failed = False
        self._abort_cause: ApiError | None = None
        # Reads audited in the open transaction and not yet committed, by table.
        self._unconfirmed_reads: dict[str, dict[uuid.UUID, None]] = {}

    @property
    def identity(self) -> Identity | None:
        return self._identity

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @property
    def cursors(self) -> CursorCodec:
        """The server's page cursors (a request's; work that pages no list has none)."""
        if self._cursors is None:
            raise RuntimeError("this database scope pages no lists: it has no cursor key")
        return self._cursors

    async def _connection_for_use(self) -> AsyncConnection:
        if self._failed:
            cause = self._abort_cause
            if cause is not None:  # answer as the refusal that aborted it (e.g. a timeout) did
                error = ApiError(str(cause.extensions["code"]), str(cause))
                error.extensions = dict(cause.extensions)
                raise error
            raise ApiError("INTERNAL", "An earlier error aborted this request's transaction")
        if self._connection is None:
            self._connection = await self._engine.connect()
        if not self._in_transaction:
            connection, self._connection = self._connection, None  # a fresh one after a fault
            await self._begin(connection)
            self._connection, self._in_transaction = connection, True
        return self._connection

    async def _begin(self, connection: AsyncConnection) -> None:
        """Open a transaction as the caller on `connection`, closed if that fails."""
        try:
            await connection.begin()
            timeout = self._engine.sync_engine.get_execution_options().get(STATEMENT_TIMEOUT_OPTION)
            settings = await connection.execute(
                IDENTITY_SQL,
                {
                    **identity_settings(self._identity),
                    "statement_timeout": None if timeout is None else str(timeout),
                },
            )
            if self._identity is not None and settings.one().login_matches is not True:
                raise ApiError(UNAUTHENTICATED, "This token does not match an active login")
        except BaseException:
            await connection.close()
            raise

    async def begin(self) -> None:
        """Open the transaction now: its identity round trip refuses a login that may not act."""
        async with self._lock, self._translated_errors():
            await self._connection_for_use()

    async def fetch(
        self, statement: Executable, params: Mapping[str, Any] | None = None
    ) -> Sequence[RowMapping]:
        async with self._lock, self._translated_errors():
            connection = await self._connection_for_use()
            result = await connection.execute(statement, params)
            return result.mappings().all() if result.returns_rows else []

    async def fetch_text(self, sql: str, params: Sequence[Any]) -> str:
        """The one text value of a statement with `$n` parameters (the compiler's JSON)."""
        async with self._lock, self._translated_errors():
            connection = await self._connection_for_use()
            result = await connection.exec_driver_sql(sql, tuple(params))
            return str(result.scalar_one())

    async def record_reads(self, table: str, ids: Sequence[uuid.UUID]) -> None:
        """Audit that the caller read these rows of `table` (graph/api/audit_reads batches
        the calls)."""
        async with self._lock, self._translated_errors():
            connection = await self._connection_for_use()
            if self._audit_engine is None:
                await self._execute_record_reads(connection, table, ids)
            self._unconfirmed_reads.setdefault(table, {}).update(dict.fromkeys(ids))
            if self._reads_commit_at_once:
                await self._end_transaction(commit=True)

    async def _execute_record_reads(
        self, connection: AsyncConnection, table: str, ids: Sequence[uuid.UUID]
    ) -> None:
        params = {"table_name": table, "ids": list(ids)}
        if self._readers is None:
            await connection.execute(RECORD_READS_SQL, params)
        else:
            await connection.execute(RECORD_READS_FOR_SQL, {**params, "readers": self._readers})

    @asynccontextmanager
    async def _translated_errors(self) -> AsyncIterator[None]:
        """A failed statement aborts the transaction; refusals become API errors."""
        try:
            yield
        except DATABASE_ERRORS as error:
            self._failed = True
            api_error = from_database_error(error)
            if api_error is None:
                raise
            self._abort_cause = api_error
            raise api_error from None

    async def fetch_one(
        self, statement: Executable, params: Mapping[str, Any] | None = None
    ) -> RowMapping | None:
        rows = await self.fetch(statement, params)
        return rows[0] if rows else None

    async def end_transaction(self, *, commit: bool) -> None:
        """End the open transaction, if any: commit if asked and nothing failed, else roll
        back. The connection stays; the next statement opens a fresh transaction as the same
        caller. A commit the database refuses raises (its writes are gone)."""
        async with self._lock:
            await self._end_transaction(commit=commit)

    async def finish(self, *, commit: bool) -> None:
        """End the transaction as `end_transaction` does and free the connection. Raises if
        audited reads could not be written (the response must not show them)."""
        async with self._lock:
            try:
                await self._end_transaction(commit=commit)
            finally:
                connection, self._connection = self._connection, None
                self._in_transaction = False
                if connection is not None:
                    await connection.close()
            if self._unconfirmed_reads:
                self._unconfirmed_reads.clear()
                raise ApiError(INTERNAL, "The reading of clinical records could not be recorded")

    async def _end_transaction(self, *, commit: bool) -> None:
        connection = self._connection
        failed, self._failed, self._abort_cause = self._failed, False, None
        if connection is None or not self._in_transaction:
            return
        self._in_transaction = False
        if commit and not failed:
            try:
                await connection.commit()
            except DATABASE_ERRORS as error:
                await self._drop_connection()
                await self._record_unconfirmed_reads()
                raise from_database_error(error) or ApiError(
                    INTERNAL, "The database did not commit this change"
                ) from None
            if self._audit_engine is None:
                self._unconfirmed_reads.clear()
            else:
                await self._record_unconfirmed_reads()
            return
        try:
            await connection.rollback()
        except DATABASE_ERRORS:
            await self._drop_connection()
        await self._record_unconfirmed_reads()

    async def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with suppress(*DATABASE_ERRORS):
                await connection.close()

    async def _record_unconfirmed_reads(self) -> None:
        """Write, in a short transaction of their own, the read-audit rows that a transaction
        ending without a commit took with it, or that a replica's transaction could not
        write (on the primary). On failure they stay unconfirmed (`finish` reports it)."""
        if not self._unconfirmed_reads:
            return
        try:
            if self._audit_engine is not None:
                async with self._audit_engine.connect() as primary:
                    await self._write_unconfirmed_reads(primary)
            else:
                connection = self._connection or await self._engine.connect()
                self._connection = None  # closed if the writing fails
                await self._write_unconfirmed_reads(connection)
                self._connection = connection
        except (*DATABASE_ERRORS, ApiError):
            log.warning("read-audit rows could not be written", exc_info=True)
            return
        self._unconfirmed_reads.clear()

    async def _write_unconfirmed_reads(self, connection: AsyncConnection) -> None:
        """The kept audited reads, in a transaction of their own on `connection` (closed if
        that fails)."""
        await self._begin(connection)
        try:
            for table, ids in self._unconfirmed_reads.items():
                await self._execute_record_reads(connection, table, list(ids))
            await connection.commit()
        except BaseException:
            await connection.close()
            raise

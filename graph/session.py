"""One connection and one transaction per request, opened on first use, run under RLS.

Strawberry resolves sibling fields concurrently, so the request's connection is guarded by
a lock: one statement at a time, whichever resolver or dataloader asks.
"""

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Executable, RowMapping, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from graph.auth import Identity
from graph.errors import DATABASE_ERRORS, UNAUTHENTICATED, ApiError, from_database_error

# `set_config('role', ..., true)` is `SET LOCAL ROLE`: RLS applies whatever role the pool
# logged in as, and like the identity settings it ends with the transaction. The same round
# trip checks the identity against the login's `users` row (auth_login_matches, migration
# 0008): a deactivated (e.g. anonymized) login's unexpired token stops working at once, and a
# token whose clinic, role, physiotherapist or patient differ from the row's never works.
IDENTITY_SQL = text(
    "select set_config('role', 'fisioflow_app', true),"
    " set_config('app.user_id', :user_id, true),"
    " set_config('app.clinic_id', :clinic_id, true),"
    " set_config('app.role', :role, true),"
    " set_config('app.physiotherapist_id', :physiotherapist_id, true),"
    " set_config('app.patient_id', :patient_id, true),"
    " set_config('statement_timeout',"
    " coalesce(:statement_timeout, current_setting('statement_timeout')), true),"
    " auth_login_matches(nullif(:user_id, '')::uuid, nullif(:clinic_id, '')::uuid,"
    " nullif(:role, ''), nullif(:physiotherapist_id, '')::uuid,"
    " nullif(:patient_id, '')::uuid, nullif(:external_subject, '')) as login_matches"
)
# The engine's per-statement time limit (graph.database.create_engine), in milliseconds: set in
# the identity statement above, so it costs no round trip. SQLSTATE 57014 when it runs out.
STATEMENT_TIMEOUT_OPTION = "fisioflow_statement_timeout_ms"


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
    }


class RequestDb:
    """The request's database transaction, as the caller's identity."""

    def __init__(self, engine: AsyncEngine, identity: Identity | None) -> None:
        self._engine = engine
        self._identity = identity
        self._lock = asyncio.Lock()
        self._connection: AsyncConnection | None = None
        self._failed = False
        self._abort_cause: ApiError | None = None

    @property
    def identity(self) -> Identity | None:
        return self._identity

    async def _connection_for_use(self) -> AsyncConnection:
        if self._failed:
            cause = self._abort_cause
            if cause is not None:  # answer as the refusal that aborted it (e.g. a timeout) did
                error = ApiError(str(cause.extensions["code"]), str(cause))
                error.extensions = dict(cause.extensions)
                raise error
            raise ApiError("INTERNAL", "An earlier error aborted this request's transaction")
        if self._connection is None:
            connection = await self._engine.connect()
            try:
                await connection.begin()
                timeout = self._engine.sync_engine.get_execution_options().get(
                    STATEMENT_TIMEOUT_OPTION
                )
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
            self._connection = connection
        return self._connection

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

    async def finish(self, *, commit: bool) -> None:
        """End the transaction (commit if asked and nothing failed); free the connection."""
        async with self._lock:
            connection, self._connection = self._connection, None
            if connection is None:
                return
            try:
                if commit and not self._failed:
                    await connection.commit()
                else:
                    await connection.rollback()
            finally:
                await connection.close()

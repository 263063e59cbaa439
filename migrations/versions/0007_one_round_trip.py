"""`gql_execute`: a compiled operation in one round trip, identity settings included.

The fast path (graph/http/fast_path.py) prepares each compiled statement once per connection
(`PREPARE gql_…(text[])`) and then answers every request with one call of this function, in
an implicit transaction of its own: it sets the caller's identity exactly as
graph/sql/session.IDENTITY_SQL does (transaction-local, so it ends with the call), refuses an
inactive login (28000), and runs the prepared statement with the request's arguments as
fisioflow_app, under row-level security. Statements run one after another inside PL/pgSQL,
so the settings are in force before the statement is planned or run, which a single SQL
statement could not promise.

It grants nothing: everything it does, its caller could do with plain SQL (and `role` can be
set only by a member of fisioflow_app). The statement name is quoted with %I and the
arguments with %L; both come from the server, never from a client's text.

Revision ID: 0007_one_round_trip
Revises: 0006_graphql_functions
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from migrations.sql import run_script

revision: str = "0007_one_round_trip"
down_revision: str | None = "0006_graphql_functions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UP = r"""
SET LOCAL ROLE fisioflow_owner;

CREATE FUNCTION gql_execute(
    login uuid,
    clinic uuid,
    login_role text,
    physiotherapist uuid,
    patient uuid,
    statement_name text,
    arguments text[]
) RETURNS text
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    result text;
BEGIN
    PERFORM set_config('role', 'fisioflow_app', true),
            set_config('app.user_id', login::text, true),
            set_config('app.clinic_id', clinic::text, true),
            set_config('app.role', login_role, true),
            set_config('app.physiotherapist_id', coalesce(physiotherapist::text, ''), true),
            set_config('app.patient_id', coalesce(patient::text, ''), true);
    PERFORM app_require_active_login(login);
    EXECUTE format('EXECUTE %I(%L)', statement_name, arguments) INTO result;
    RETURN result;
END
$$;

RESET ROLE;
"""

DOWN = """
DROP FUNCTION IF EXISTS gql_execute(uuid, uuid, text, uuid, uuid, text, text[]);
"""


def upgrade() -> None:
    run_script(UP)


def downgrade() -> None:
    run_script(DOWN)

"""`gql_execute_statement`: the fast path's one round trip without a prepared statement.

Revision ID: 0025_unprepared_execute
Revises: 0023_webhooks
Create Date: 2026-11-28

`gql_execute` (0016) runs a statement the connection prepared by name, which a pooler in
transaction mode (PgBouncer `pool_mode = transaction`) cannot offer: the next transaction may
get another server session, where that name is unknown. This function takes the statement's
text instead and runs it with `EXECUTE ... USING` (planned for each call, with the values
known), after the same identity check and the same transaction-local settings, so it leaves
nothing on the session. The statement is the server's compiled SQL, never a client's text;
it runs as fisioflow_app, so the caller can do nothing through it that its own login could
not do directly.
"""

from collections.abc import Sequence

from migrations.sql import run_script

revision: str = "0025_unprepared_execute"
down_revision: str | None = "0023_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = """
SET LOCAL ROLE fisioflow_owner;
CREATE FUNCTION gql_execute_statement(
    login uuid,
    clinic uuid,
    login_role text,
    physiotherapist uuid,
    patient uuid,
    subject text,
    version integer,
    statement text,
    arguments text[]
) RETURNS text
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    result text;
BEGIN
    IF NOT auth_login_matches(login, clinic, login_role, physiotherapist, patient, subject,
                              version) THEN
        RAISE EXCEPTION 'the token does not match an active login' USING ERRCODE = '28000';
    END IF;
    PERFORM set_config('role', 'fisioflow_app', true),
            set_config('app.user_id', login::text, true),
            set_config('app.clinic_id', clinic::text, true),
            set_config('app.role', login_role, true),
            set_config('app.physiotherapist_id', coalesce(physiotherapist::text, ''), true),
            set_config('app.patient_id', coalesce(patient::text, ''), true);
    EXECUTE statement INTO result USING arguments;
    RETURN result;
END
$$;
RESET ROLE;
"""

DOWNGRADE = """
SET LOCAL ROLE fisioflow_owner;
DROP FUNCTION gql_execute_statement(uuid, uuid, text, uuid, uuid, text, integer, text, text[]);
RESET ROLE;
"""


def upgrade() -> None:
    run_script(UPGRADE)


def downgrade() -> None:
    run_script(DOWNGRADE)

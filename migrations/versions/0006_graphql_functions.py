"""SQL helpers for the query compiler: global IDs, cursors and timestamps formatted exactly as
the Python resolvers format them, so both paths return identical JSON.

Revision ID: 0006_graphql_functions
Revises: 0005_lgpd
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from migrations.sql import run_script

revision: str = "0006_graphql_functions"
down_revision: str | None = "0005_lgpd"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UP = r"""
SET LOCAL ROLE fisioflow_owner;

-- base64url without padding (graph/core/ids.py, graph/sql/pagination.py); encode() wraps lines.
CREATE FUNCTION gql_base64url(value text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN translate(rtrim(replace(encode(convert_to(value, 'UTF8'), 'base64'), E'\n', ''), '='),
                     '+/', '-_');

CREATE FUNCTION gql_global_id(type_name text, id uuid) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN gql_base64url(type_name || ':' || id::text);

-- Python's datetime.isoformat() of a UTC value: microseconds only when there are some.
-- Not STRICT: with a CASE in its body, a strict function could not be inlined into the query.
CREATE FUNCTION gql_datetime(value timestamptz) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN to_char(value AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
        || CASE WHEN date_part('microseconds', value)::bigint % 1000000 <> 0
                THEN to_char(value AT TIME ZONE 'UTC', '.US') ELSE '' END
        || '+00:00';

-- A sort-key value as cursors carry it: timestamps as microseconds since the epoch.
CREATE FUNCTION gql_cursor_value(value timestamptz) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN (extract(epoch FROM value) * 1000000)::bigint;

-- Raises (28000) unless the login is active. The fast path (graph/http/fast_path) calls it right
-- after the identity settings, in the same message: as fisioflow_app, whose RLS shows every
-- user their own row.
CREATE FUNCTION app_require_active_login(login uuid) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = public, pg_temp
AS $$
BEGIN
    IF NOT coalesce((SELECT u.active FROM users u WHERE u.id = login), false) THEN
        RAISE EXCEPTION 'inactive login' USING ERRCODE = '28000';
    END IF;
END
$$;

RESET ROLE;
"""

DOWN = """
DROP FUNCTION IF EXISTS app_require_active_login(uuid);
DROP FUNCTION IF EXISTS gql_cursor_value(timestamptz);
DROP FUNCTION IF EXISTS gql_datetime(timestamptz);
DROP FUNCTION IF EXISTS gql_global_id(text, uuid);
DROP FUNCTION IF EXISTS gql_base64url(text);
"""


def upgrade() -> None:
    run_script(UP)


def downgrade() -> None:
    run_script(DOWN)

"""Logins an admin runs: token versions, password resets, and a clinic that keeps an admin.

Revision ID: 0016_accounts
Revises: 0015_series
Create Date: 2026-11-28

- `users.token_version`: every token of ours carries it (claim `tv`), and the identity round
  trip (`auth_login_matches`, now with a `version` argument, and `gql_execute`) refuses a
  token whose version is not the row's. A trigger bumps it whenever the password hash
  changes or the login is deactivated, and refuses any other change of it, so every token
  issued before stops working at once (a reactivated login does not revive them). A NULL
  version is not compared: a provider token (FISIOFLOW_JWKS_URL) has none, and is revoked by
  deactivation or unlinking. fisioflow_app may not read the column.
- `users.must_change_password`: set by an admin's reset; the login's next token may only
  change the password (the API enforces it; the reset's version bump kills older tokens).
- `auth_set_own_password(new_hash, version)` (SECURITY DEFINER): the caller's own hash, if
  their row is still at the token's version (of two racing changes, one wins); the new
  version, or NULL. Nobody but an admin may otherwise write a users row.
- `users_keep_an_admin`: an admin may not deactivate their own login, and no caller acting
  as someone (app.role set) may leave a clinic without an active admin (serialized per
  clinic by an advisory lock, so two admins deactivating each other at once cannot both
  succeed). An operator acting as nobody (a superuser fixing data) is not held to it.
- `users_notify`: a login's deactivation or version bump is an event (pg_notify), so the
  broker ends that login's subscriptions at once.
- `auth_user_by_email/_by_id/_by_external_subject` also return token_version and
  must_change_password.
"""

from collections.abc import Sequence

from migrations.sql import run_script

revision: str = "0016_accounts"
down_revision: str | None = "0015_series"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (name, argument, filter) of the auth lookup functions.
LOOKUPS = (
    ("auth_user_by_email", "lookup_email text", "lower(u.email) = lower(lookup_email)"),
    ("auth_user_by_id", "lookup_id uuid", "u.id = lookup_id"),
    ("auth_user_by_external_subject", "subject text", "u.external_subject = subject"),
)
LOOKUP_COLUMNS = (
    "id uuid, clinic_id uuid, email text, password_hash text, role text,"
    " physiotherapist_id uuid, patient_id uuid, active boolean"
)
LOOKUP_SELECT = (
    "u.id, u.clinic_id, u.email, u.password_hash, u.role, u.physiotherapist_id,"
    " u.patient_id, u.active"
)


def _lookups(extra_columns: str, extra_select: str) -> str:
    parts = []
    for name, argument, where in LOOKUPS:
        parts.append(f"""
DROP FUNCTION {name}({argument.split()[1]});
CREATE FUNCTION {name}({argument})
    RETURNS TABLE ({LOOKUP_COLUMNS}{extra_columns})
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    prev text := current_setting('fisioflow.definer', true);
BEGIN
    PERFORM set_config('fisioflow.definer', 'auth', true);
    RETURN QUERY
        SELECT {LOOKUP_SELECT}{extra_select}
        FROM public.users u
        WHERE {where};
    PERFORM set_config('fisioflow.definer', coalesce(prev, ''), true);
END
$$;
REVOKE ALL ON FUNCTION {name}({argument.split()[1]}) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {name}({argument.split()[1]}) TO fisioflow_app;
""")
    return "".join(parts)


def _login_matches(version_argument: str, version_check: str) -> str:
    return f"""
CREATE FUNCTION auth_login_matches(login uuid, clinic uuid, login_role text,
                                   physiotherapist uuid, patient uuid, subject text
                                   {version_argument})
    RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    prev text := current_setting('fisioflow.definer', true);
    matches boolean;
BEGIN
    PERFORM set_config('fisioflow.definer', 'auth', true);
    SELECT u.active
           AND u.clinic_id = clinic
           AND u.role = login_role
           AND u.physiotherapist_id IS NOT DISTINCT FROM physiotherapist
           AND u.patient_id IS NOT DISTINCT FROM patient
           AND (subject IS NULL OR u.external_subject = subject)
           {version_check}
      INTO matches
      FROM public.users u
     WHERE u.id = login;
    PERFORM set_config('fisioflow.definer', coalesce(prev, ''), true);
    RETURN coalesce(matches, false);
END
$$;
"""


def _gql_execute(version_argument: str, version_call: str) -> str:
    return f"""
CREATE FUNCTION gql_execute(
    login uuid,
    clinic uuid,
    login_role text,
    physiotherapist uuid,
    patient uuid,
    subject text,
    {version_argument}
    statement_name text,
    arguments text[]
) RETURNS text
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    result text;
BEGIN
    IF NOT auth_login_matches(login, clinic, login_role, physiotherapist, patient, subject
                              {version_call}) THEN
        RAISE EXCEPTION 'the token does not match an active login' USING ERRCODE = '28000';
    END IF;
    PERFORM set_config('role', 'fisioflow_app', true),
            set_config('app.user_id', login::text, true),
            set_config('app.clinic_id', clinic::text, true),
            set_config('app.role', login_role, true),
            set_config('app.physiotherapist_id', coalesce(physiotherapist::text, ''), true),
            set_config('app.patient_id', coalesce(patient::text, ''), true);
    EXECUTE format('EXECUTE %I(%L)', statement_name, arguments) INTO result;
    RETURN result;
END
$$;
"""


MATCHES_0008 = "auth_login_matches(uuid, uuid, text, uuid, uuid, text)"
MATCHES = "auth_login_matches(uuid, uuid, text, uuid, uuid, text, integer)"
EXECUTE_0008 = "gql_execute(uuid, uuid, text, uuid, uuid, text, text, text[])"
EXECUTE = "gql_execute(uuid, uuid, text, uuid, uuid, text, integer, text, text[])"

UP = f"""
SET LOCAL ROLE fisioflow_owner;

ALTER TABLE users
    ADD COLUMN token_version integer NOT NULL DEFAULT 0,
    ADD COLUMN must_change_password boolean NOT NULL DEFAULT false;
GRANT SELECT (must_change_password) ON users TO fisioflow_app;

CREATE FUNCTION users_token_version() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF NEW.token_version IS DISTINCT FROM OLD.token_version THEN
        RAISE EXCEPTION 'users.token_version changes only with the password or a deactivation'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.password_hash IS DISTINCT FROM OLD.password_hash OR (OLD.active AND NOT NEW.active)
    THEN
        NEW.token_version := OLD.token_version + 1;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER users_token_version BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION users_token_version();

CREATE FUNCTION users_keep_an_admin() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF OLD.active AND NOT NEW.active AND NEW.id = public.app_user_id()
       AND public.app_role() = 'admin' THEN
        RAISE EXCEPTION 'an admin may not deactivate their own login'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'users_not_own_login';
    END IF;
    IF OLD.role = 'admin' AND OLD.active AND NOT (NEW.role = 'admin' AND NEW.active)
       AND public.app_role() IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(
            hashtextextended('fisioflow.clinic_admins:' || NEW.clinic_id::text, 0));
        IF NOT EXISTS (SELECT FROM public.users u
                       WHERE u.clinic_id = NEW.clinic_id AND u.role = 'admin' AND u.active) THEN
            RAISE EXCEPTION 'the clinic would have no active admin'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'users_clinic_keeps_an_admin';
        END IF;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_keep_an_admin AFTER UPDATE OF active, role ON users
    FOR EACH ROW EXECUTE FUNCTION users_keep_an_admin();

CREATE TRIGGER users_notify AFTER UPDATE OF active, token_version, password_hash ON users
    FOR EACH ROW
    WHEN (OLD.active IS DISTINCT FROM NEW.active
          OR OLD.token_version IS DISTINCT FROM NEW.token_version)
    EXECUTE FUNCTION notify_event();

CREATE FUNCTION auth_set_own_password(new_hash text, version integer) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    prev text := current_setting('fisioflow.definer', true);
    changed integer;
BEGIN
    PERFORM set_config('fisioflow.definer', 'auth', true);
    UPDATE public.users u
       SET password_hash = new_hash, must_change_password = false, updated_at = now()
     WHERE u.id = public.app_user_id() AND u.clinic_id = public.app_clinic_id() AND u.active
       AND u.token_version = version
    RETURNING u.token_version INTO changed;
    PERFORM set_config('fisioflow.definer', coalesce(prev, ''), true);
    RETURN changed;
END
$$;
REVOKE ALL ON FUNCTION auth_set_own_password(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_set_own_password(text, integer) TO fisioflow_app;

{
    _lookups(
        ", token_version integer, must_change_password boolean",
        ", u.token_version, u.must_change_password",
    )
}

DROP FUNCTION gql_execute(uuid, uuid, text, uuid, uuid, text, text, text[]);
DROP FUNCTION {MATCHES_0008};
{_login_matches(", version integer", "AND (version IS NULL OR u.token_version = version)")}
REVOKE ALL ON FUNCTION {MATCHES} FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {MATCHES} TO fisioflow_app;
{_gql_execute("version integer,", ", version")}

RESET ROLE;
"""

DOWN = f"""
SET LOCAL ROLE fisioflow_owner;

DROP FUNCTION {EXECUTE};
DROP FUNCTION {MATCHES};
{_login_matches("", "")}
REVOKE ALL ON FUNCTION {MATCHES_0008} FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {MATCHES_0008} TO fisioflow_app;
{_gql_execute("", "")}
{_lookups("", "")}
DROP FUNCTION auth_set_own_password(text, integer);
DROP TRIGGER users_notify ON users;
DROP TRIGGER users_keep_an_admin ON users;
DROP FUNCTION users_keep_an_admin();
DROP TRIGGER users_token_version ON users;
DROP FUNCTION users_token_version();
ALTER TABLE users DROP COLUMN must_change_password, DROP COLUMN token_version;

RESET ROLE;
"""


def upgrade() -> None:
    run_script(UP)


def downgrade() -> None:
    run_script(DOWN)

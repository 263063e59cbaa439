"""The login row is the identity; "treats" is earned; a patient is in one session at a time.

Revision ID: 0008_identity_and_care_team
Revises: 0007_one_round_trip
Create Date: 2026-11-28

- `users.external_subject` (unique): the `sub` of an external identity provider's token
  (FISIOFLOW_JWKS_URL) that stands for this login, set by an operator (`fisioflow
  link-login`). `auth_user_by_external_subject(subject)` (SECURITY DEFINER, as
  auth_user_by_id) finds the login a provider token names.
- `auth_login_matches(login, clinic, role, physiotherapist, patient, subject)`: true when the
  login is active and its row says exactly what the request's identity says (and, for a
  provider token, is still linked to that subject). The identity round trip of both paths
  asks it: graph/sql/session.IDENTITY_SQL and `gql_execute` (replaced here with a `subject`
  argument; it raises 28000 otherwise, as before for an inactive login).
- `care_team_members`: physiotherapists an admin or receptionist put on a patient's care team
  (clinic-scoped, composite foreign keys, audited and notified like the other tables).
  Staff read it, a patient reads their own; admin and receptionist add and remove members.
- "Treats" (app_treats_patient and its inlined copy in every policy that uses it): the patient
  is assigned to the physiotherapist, or on their care team, or has an appointment with them
  that is not cancelled or a no-show. A physiotherapist books (and reschedules, un-cancels or
  moves) an appointment only with a patient they already treat: the check runs on the rows as
  they were before the statement, so the appointment being written never vouches for itself.
- `appointments_patient_no_double_booking`: the physiotherapist's exclusion constraint (0001)
  for the patient too. PostgreSQL cannot add an exclusion constraint NOT VALID, so existing
  overlapping sessions stop the migration with a message saying how to find them (cancel or
  move one of each pair, then migrate again).
"""

from collections.abc import Sequence

from migrations.sql import run_script

revision: str = "0008_identity_and_care_team"
down_revision: str | None = "0007_one_round_trip"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# An appointment that counts: it blocks its slot, and it makes its physiotherapist one who
# treats its patient. The same words in the exclusion constraints and the partial index, so
# the planner matches the "treats" lookups to that index.
LIVE_APPOINTMENT = "status NOT IN ('cancelled', 'no_show')"

# Qualified names: the same text is app_treats_patient's body, which has no search_path.
TREATS = (
    "(EXISTS (SELECT FROM public.patients treats_p WHERE treats_p.id = {col}"
    " AND treats_p.physiotherapist_id = (select public.app_physiotherapist_id()))"
    " OR EXISTS (SELECT FROM public.care_team_members treats_c"
    " WHERE treats_c.patient_id = {col}"
    " AND treats_c.physiotherapist_id = (select public.app_physiotherapist_id()))"
    " OR EXISTS (SELECT FROM public.appointments treats_a WHERE treats_a.patient_id = {col}"
    " AND treats_a.physiotherapist_id = (select public.app_physiotherapist_id())"
    f" AND treats_a.{LIVE_APPOINTMENT}))"
)
# 0002's definition, for the downgrade.
TREATS_0002 = (
    "(EXISTS (SELECT FROM public.patients treats_p WHERE treats_p.id = {col}"
    " AND treats_p.physiotherapist_id = (select public.app_physiotherapist_id()))"
    " OR EXISTS (SELECT FROM public.appointments treats_a WHERE treats_a.patient_id = {col}"
    " AND treats_a.physiotherapist_id = (select public.app_physiotherapist_id())))"
)

PHYSIO = "(select app_role()) = 'physiotherapist'"
TREATS_CALL = "app_treats_patient(appointments.patient_id)"
SELF = "(select app_physiotherapist_id())"

# Every policy that says "treats": (table, policy, USING, WITH CHECK), {treats} standing for
# TREATS of the column given. The two appointments policies are new users of it; they call
# app_treats_patient() instead (a policy of a table may not query that table itself: it would
# be "infinite recursion"), which costs a call per written row, and writes are of one row.
TREATS_POLICIES: tuple[tuple[str, str, str | None, str | None], ...] = (
    (
        "prontuarios",
        "prontuarios_select_physio",
        f"{PHYSIO} AND {{treats:prontuarios.patient_id}}",
        None,
    ),
    (
        "prontuarios",
        "prontuarios_insert_physio",
        None,
        f"{PHYSIO} AND author_id = {SELF} AND {{treats:prontuarios.patient_id}}",
    ),
    (
        "prontuario_addenda",
        "prontuario_addenda_insert_physio",
        None,
        f"{PHYSIO} AND author_id = {SELF} AND EXISTS (SELECT FROM prontuarios p"
        " WHERE p.id = prontuario_addenda.prontuario_id AND {treats:p.patient_id})",
    ),
    (
        "exercise_prescriptions",
        "exercise_prescriptions_select_physio",
        f"{PHYSIO} AND {{treats:exercise_prescriptions.patient_id}}",
        None,
    ),
    (
        "exercise_prescriptions",
        "exercise_prescriptions_insert_physio",
        None,
        f"{PHYSIO} AND physiotherapist_id = {SELF}"
        " AND {treats:exercise_prescriptions.patient_id}"
        " AND EXISTS (SELECT FROM exercises e WHERE e.id = exercise_prescriptions.exercise_id)",
    ),
    (
        "exercise_prescriptions",
        "exercise_prescriptions_update_physio",
        f"{PHYSIO} AND {{treats:exercise_prescriptions.patient_id}}",
        f"{PHYSIO} AND {{treats:exercise_prescriptions.patient_id}}"
        " AND EXISTS (SELECT FROM exercises e WHERE e.id = exercise_prescriptions.exercise_id)",
    ),
    (
        "exercise_executions",
        "exercise_executions_select_physio",
        f"{PHYSIO} AND {{treats:exercise_executions.patient_id}}",
        None,
    ),
)
APPOINTMENT_POLICIES: tuple[tuple[str, str, str | None, str | None], ...] = (
    (
        "appointments",
        "appointments_insert_physio",
        None,
        f"{PHYSIO} AND physiotherapist_id = {SELF} AND {TREATS_CALL}",
    ),
    (
        "appointments",
        "appointments_update_physio",
        f"{PHYSIO} AND physiotherapist_id = {SELF}",
        f"{PHYSIO} AND physiotherapist_id = {SELF} AND {TREATS_CALL}",
    ),
)
APPOINTMENT_POLICIES_0002 = tuple(
    (table, name, using, (check or "").replace(f" AND {TREATS_CALL}", ""))
    for table, name, using, check in APPOINTMENT_POLICIES
)


def _alter_policies(
    policies: tuple[tuple[str, str, str | None, str | None], ...], treats: str
) -> str:
    def expand(expression: str) -> str:
        parts = expression.split("{treats:")
        out = parts[0]
        for part in parts[1:]:
            column, rest = part.split("}", 1)
            out += treats.format(col=column) + rest
        return out

    statements = []
    for table, name, using, check in policies:
        clauses = ""
        if using is not None:
            clauses += f"\n    USING ({expand(using)})"
        if check is not None:
            clauses += f"\n    WITH CHECK ({expand(check)})"
        statements.append(f"ALTER POLICY {name} ON {table}{clauses};")
    return "\n".join(statements) + "\n"


def _treats_function(treats: str) -> str:
    return (
        "CREATE OR REPLACE FUNCTION app_treats_patient(patient_id uuid) RETURNS boolean\n"
        "    LANGUAGE sql STABLE PARALLEL SAFE\n"
        f"    RETURN {treats.format(col='app_treats_patient.patient_id')};\n"
    )


LIVE_APPOINTMENT_QUOTED = LIVE_APPOINTMENT.replace("'", "''")

# Runs as the migrating role, before SET ROLE: the owner is under FORCE'd row-level security
# and would see no appointments at all.
NO_OVERLAPPING_SESSIONS = f"""
DO $$
DECLARE
    overlapping bigint;
BEGIN
    SELECT count(*) INTO overlapping
    FROM appointments a
    JOIN appointments b
      ON b.patient_id = a.patient_id AND b.id > a.id
     AND tstzrange(b.starts_at, b.ends_at) && tstzrange(a.starts_at, a.ends_at)
    WHERE a.{LIVE_APPOINTMENT} AND b.{LIVE_APPOINTMENT};
    IF overlapping > 0 THEN
        RAISE EXCEPTION '% pair(s) of appointments book one patient twice at the same time',
                        overlapping
            USING ERRCODE = 'exclusion_violation',
                  HINT = 'Cancel or move one appointment of each pair, then migrate again. '
                      || 'They are: SELECT a.id, b.id FROM appointments a JOIN appointments b '
                      || 'ON b.patient_id = a.patient_id AND b.id > a.id AND '
                      || 'tstzrange(b.starts_at, b.ends_at) && tstzrange(a.starts_at, a.ends_at) '
                      || 'WHERE a.{LIVE_APPOINTMENT_QUOTED} '
                      || 'AND b.{LIVE_APPOINTMENT_QUOTED}';
    END IF;
END
$$;
"""

UP = f"""
SET LOCAL ROLE fisioflow_owner;

ALTER TABLE appointments ADD CONSTRAINT appointments_patient_no_double_booking
    EXCLUDE USING gist (patient_id WITH =, tstzrange(starts_at, ends_at) WITH &&)
    WHERE ({LIVE_APPOINTMENT});
-- "Treats" by appointment: one index probe per (physiotherapist, patient).
CREATE INDEX appointments_treats_idx ON appointments (physiotherapist_id, patient_id)
    WHERE {LIVE_APPOINTMENT};

ALTER TABLE users ADD COLUMN external_subject text UNIQUE
    CHECK (external_subject <> '' AND length(external_subject) <= 255);

CREATE TABLE care_team_members (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    clinic_id uuid NOT NULL REFERENCES clinics(id),
    patient_id uuid NOT NULL,
    physiotherapist_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (clinic_id, id),
    CONSTRAINT care_team_members_key UNIQUE (patient_id, physiotherapist_id),
    FOREIGN KEY (clinic_id, patient_id) REFERENCES patients (clinic_id, id),
    FOREIGN KEY (clinic_id, physiotherapist_id) REFERENCES physiotherapists (clinic_id, id)
);
-- care_team_members_key serves "is X on P's team" and a patient's team; this one a
-- physiotherapist's patients (the hashed subplan of a full scan under "treats").
CREATE INDEX care_team_members_physiotherapist_idx
    ON care_team_members (physiotherapist_id, patient_id);

ALTER TABLE care_team_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE care_team_members FORCE ROW LEVEL SECURITY;
CREATE POLICY care_team_members_clinic_scope ON care_team_members AS RESTRICTIVE
    TO fisioflow_app
    USING (clinic_id = (select app_clinic_id()))
    WITH CHECK (clinic_id = (select app_clinic_id()));
CREATE POLICY care_team_members_select_staff ON care_team_members FOR SELECT TO fisioflow_app
    USING ((select app_role()) IN ('admin', 'physiotherapist', 'receptionist'));
CREATE POLICY care_team_members_select_own ON care_team_members FOR SELECT TO fisioflow_app
    USING ((select app_role()) = 'patient' AND patient_id = (select app_patient_id()));
CREATE POLICY care_team_members_insert_front_desk ON care_team_members FOR INSERT
    TO fisioflow_app
    WITH CHECK ((select app_role()) IN ('admin', 'receptionist'));
CREATE POLICY care_team_members_delete_front_desk ON care_team_members FOR DELETE
    TO fisioflow_app
    USING ((select app_role()) IN ('admin', 'receptionist'));
GRANT SELECT, INSERT, DELETE ON care_team_members TO fisioflow_app;
CREATE TRIGGER care_team_members_audit AFTER INSERT OR UPDATE OR DELETE ON care_team_members
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER care_team_members_notify AFTER INSERT OR UPDATE OR DELETE ON care_team_members
    FOR EACH ROW EXECUTE FUNCTION notify_event();

{_treats_function(TREATS)}
{_alter_policies(TREATS_POLICIES + APPOINTMENT_POLICIES, TREATS)}

CREATE FUNCTION auth_user_by_external_subject(subject text)
    RETURNS TABLE (id uuid, clinic_id uuid, email text, password_hash text, role text,
                   physiotherapist_id uuid, patient_id uuid, active boolean)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    prev text := current_setting('fisioflow.definer', true);
BEGIN
    PERFORM set_config('fisioflow.definer', 'auth', true);
    RETURN QUERY
        SELECT u.id, u.clinic_id, u.email, u.password_hash, u.role, u.physiotherapist_id,
               u.patient_id, u.active
        FROM public.users u
        WHERE u.external_subject = subject;
    PERFORM set_config('fisioflow.definer', coalesce(prev, ''), true);
END
$$;

-- The request's identity is the login's row: active, and every claim equal to the row's
-- column (a provider token's subject still linked to it). NULL login: false.
CREATE FUNCTION auth_login_matches(login uuid, clinic uuid, login_role text,
                                   physiotherapist uuid, patient uuid, subject text)
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
      INTO matches
      FROM public.users u
     WHERE u.id = login;
    PERFORM set_config('fisioflow.definer', coalesce(prev, ''), true);
    RETURN coalesce(matches, false);
END
$$;
REVOKE ALL ON FUNCTION auth_user_by_external_subject(text),
    auth_login_matches(uuid, uuid, text, uuid, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_user_by_external_subject(text),
    auth_login_matches(uuid, uuid, text, uuid, uuid, text) TO fisioflow_app;

DROP FUNCTION gql_execute(uuid, uuid, text, uuid, uuid, text, text[]);
DROP FUNCTION app_require_active_login(uuid);
CREATE FUNCTION gql_execute(
    login uuid,
    clinic uuid,
    login_role text,
    physiotherapist uuid,
    patient uuid,
    subject text,
    statement_name text,
    arguments text[]
) RETURNS text
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    result text;
BEGIN
    IF NOT auth_login_matches(login, clinic, login_role, physiotherapist, patient, subject) THEN
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

RESET ROLE;
"""

DOWN = f"""
SET LOCAL ROLE fisioflow_owner;

DROP FUNCTION gql_execute(uuid, uuid, text, uuid, uuid, text, text, text[]);
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
DROP FUNCTION auth_login_matches(uuid, uuid, text, uuid, uuid, text);
DROP FUNCTION auth_user_by_external_subject(text);

{_alter_policies(TREATS_POLICIES + APPOINTMENT_POLICIES_0002, TREATS_0002)}
{_treats_function(TREATS_0002)}
DROP TABLE care_team_members;
ALTER TABLE users DROP COLUMN external_subject;
DROP INDEX appointments_treats_idx;
ALTER TABLE appointments DROP CONSTRAINT appointments_patient_no_double_booking;

RESET ROLE;
"""


def upgrade() -> None:
    run_script(NO_OVERLAPPING_SESSIONS + UP)


def downgrade() -> None:
    run_script(DOWN)

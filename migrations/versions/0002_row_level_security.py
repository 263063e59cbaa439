"""Row-level security: identity helpers, grants, the access matrix as policies, login lookups.

Revision ID: 0002_row_level_security
Revises: 0001_schema
Create Date: 2026-11-21

Requests run as `fisioflow_app` with transaction-local settings (`set_config(..., true)`):
`app.user_id`, `app.clinic_id`, `app.role` (admin | physiotherapist | receptionist | patient),
`app.physiotherapist_id`, `app.patient_id`. The `app_*()` functions read them ('' = NULL).

Policy layout, per table:
- one RESTRICTIVE policy `<table>_clinic_scope` for fisioflow_app: the row belongs to the caller's
  clinic (for reads and for written rows). No settings = no clinic = nothing visible or writable.
- PERMISSIVE policies per command and role, implementing DESIGN.md's access matrix.
Every table is FORCE'd, so the owner is under RLS too. The only owner policies are gated on
`fisioflow.definer`, a transaction-local setting our SECURITY DEFINER functions set on entry
and restore on exit, so the owner sees rows only while running one of them (login lookups,
audit writes). fisioflow_app can set it too, but those policies are not for fisioflow_app.

`app_treats_patient()` is deliberately SECURITY INVOKER: a physiotherapist may read every
patient and appointment of the clinic anyway, so the caller's own RLS already lets it see the
rows it needs (its own patients and appointments, the least any policy must grant), it needs no
owner policies on patients/appointments, and it avoids the per-call cost of a definer function.
For any other role it is false (no `app.physiotherapist_id`). The policies use the same
condition written inline (TREATS below), which the planner can turn into a hashed subplan.
"""

import re
from collections.abc import Sequence

from migrations.sql import run_script

revision: str = "0002_row_level_security"
down_revision: str | None = "0001_schema"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every table of 0001, with the column that names the row's clinic.
TABLES: dict[str, str] = {
    "clinics": "id",
    "users": "clinic_id",
    "physiotherapists": "clinic_id",
    "patients": "clinic_id",
    "appointments": "clinic_id",
    "prontuarios": "clinic_id",
    "prontuario_addenda": "clinic_id",
    "exercises": "clinic_id",
    "exercise_prescriptions": "clinic_id",
    "exercise_executions": "clinic_id",
    "payments": "clinic_id",
    "consents": "clinic_id",
    "data_subject_requests": "clinic_id",
    "audit_log": "clinic_id",
    "compliance_checks": "clinic_id",
    "compliance_issues": "clinic_id",
}

# Table privileges of fisioflow_app. No DELETE on anything but clinic-made exercises: patients
# are anonymized, appointments/payments cancelled, consents revoked, users/physios deactivated.
# users: SELECT on every column but password_hash (see USERS_READABLE).
PRIVILEGES: dict[str, str] = {
    "clinics": "SELECT, UPDATE",
    "users": "INSERT, UPDATE",
    "physiotherapists": "SELECT, INSERT, UPDATE",
    "patients": "SELECT, INSERT, UPDATE",
    "appointments": "SELECT, INSERT, UPDATE",
    "prontuarios": "SELECT, INSERT",
    "prontuario_addenda": "SELECT, INSERT",
    "exercises": "SELECT, INSERT, UPDATE, DELETE",
    "exercise_prescriptions": "SELECT, INSERT, UPDATE",
    "exercise_executions": "SELECT, INSERT",
    "payments": "SELECT, INSERT, UPDATE",
    "consents": "SELECT, INSERT, UPDATE",
    "data_subject_requests": "SELECT, INSERT, UPDATE",
    "audit_log": "SELECT",
    "compliance_checks": "SELECT, INSERT, UPDATE",
    "compliance_issues": "SELECT, INSERT, UPDATE",
}
USERS_READABLE = (
    "id, clinic_id, email, role, physiotherapist_id, patient_id, active, last_login_at, "
    "created_at, updated_at"
)

HELPERS = """
CREATE FUNCTION app_user_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN nullif(current_setting('app.user_id', true), '')::uuid;
CREATE FUNCTION app_clinic_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN nullif(current_setting('app.clinic_id', true), '')::uuid;
CREATE FUNCTION app_role() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN nullif(current_setting('app.role', true), '');
CREATE FUNCTION app_physiotherapist_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN nullif(current_setting('app.physiotherapist_id', true), '')::uuid;
CREATE FUNCTION app_patient_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN nullif(current_setting('app.patient_id', true), '')::uuid;

-- The calling physiotherapist treats the patient: assigned to them, or has an appointment with
-- them. SECURITY INVOKER on purpose (see the module docstring); index lookups on
-- patients(id) and appointments(patient_id, ...) / appointments(physiotherapist_id, ...).
CREATE FUNCTION app_treats_patient(patient_id uuid) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN EXISTS (SELECT FROM public.patients p
                   WHERE p.id = app_treats_patient.patient_id
                     AND p.physiotherapist_id = public.app_physiotherapist_id())
        OR EXISTS (SELECT FROM public.appointments a
                   WHERE a.patient_id = app_treats_patient.patient_id
                     AND a.physiotherapist_id = public.app_physiotherapist_id());
"""

# Login happens before there is an identity: these run as the owner, under the owner policies
# gated on fisioflow.definer = 'auth', which they set for their own duration and then restore.
# (A function-level `SET fisioflow.definer = ...` would be cleaner, but PostgreSQL refuses to
# attach an unregistered custom setting to a function unless a superuser creates it, and the
# owner is no superuser.)
AUTH = """
CREATE FUNCTION auth_user_by_email(lookup_email text)
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
        WHERE lower(u.email) = lower(lookup_email);
    PERFORM set_config('fisioflow.definer', coalesce(prev, ''), true);
END
$$;
CREATE FUNCTION auth_user_by_id(lookup_id uuid)
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
        WHERE u.id = lookup_id;
    PERFORM set_config('fisioflow.definer', coalesce(prev, ''), true);
END
$$;
-- Records a successful login; returns false when there is no such user.
CREATE FUNCTION auth_record_login(login_user_id uuid) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    prev text := current_setting('fisioflow.definer', true);
    touched boolean;
BEGIN
    PERFORM set_config('fisioflow.definer', 'auth', true);
    UPDATE public.users SET last_login_at = now() WHERE id = login_user_id;
    touched := FOUND;
    PERFORM set_config('fisioflow.definer', coalesce(prev, ''), true);
    RETURN touched;
END
$$;
REVOKE ALL ON FUNCTION auth_user_by_email(text), auth_user_by_id(uuid), auth_record_login(uuid)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_user_by_email(text), auth_user_by_id(uuid), auth_record_login(uuid)
    TO fisioflow_app;
CREATE POLICY users_owner_auth_select ON users FOR SELECT TO fisioflow_owner
    USING (current_setting('fisioflow.definer', true) = 'auth');
CREATE POLICY users_owner_auth_update ON users FOR UPDATE TO fisioflow_owner
    USING (current_setting('fisioflow.definer', true) = 'auth')
    WITH CHECK (current_setting('fisioflow.definer', true) = 'auth');
"""

# What a patient may do to its own rows beyond what RLS can express (RLS is per row, not per
# column): cancel a future appointment, grant/revoke a consent, edit an open data-subject
# request. TG_ARGV lists the columns a patient may change. Raises insufficient_privilege (42501).
PATIENT_GUARD = """
CREATE FUNCTION app_patient_write_guard() RETURNS trigger
    LANGUAGE plpgsql
AS $$
DECLARE
    changed text;
BEGIN
    IF public.app_role() IS DISTINCT FROM 'patient' THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        SELECT string_agg(n.key, ', ' ORDER BY n.key) INTO changed
        FROM jsonb_each(to_jsonb(NEW)) n
        JOIN jsonb_each(to_jsonb(OLD)) o ON o.key = n.key
        WHERE n.value IS DISTINCT FROM o.value AND n.key <> ALL (TG_ARGV);
        IF changed IS NOT NULL THEN
            RAISE EXCEPTION 'a patient may not change %.%', TG_TABLE_NAME, changed
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    IF TG_TABLE_NAME = 'appointments' THEN
        IF NOT (NEW.status = 'cancelled' AND OLD.status IN ('scheduled', 'confirmed')
                AND OLD.starts_at > now()) THEN
            RAISE EXCEPTION 'a patient may only cancel a future scheduled appointment'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        NEW.cancelled_at := now();
    ELSIF TG_TABLE_NAME = 'data_subject_requests' THEN
        IF TG_OP = 'UPDATE' AND OLD.fulfilled_at IS NOT NULL THEN
            RAISE EXCEPTION 'a fulfilled data-subject request cannot be changed'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF TG_OP = 'INSERT' THEN
            IF NEW.fulfilled_at IS NOT NULL OR NEW.response IS NOT NULL THEN
                RAISE EXCEPTION 'a patient may not answer a data-subject request'
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            -- The legal deadline (LGPD art. 19: 15 days) is not the requester's to choose.
            NEW.requested_at := now();
            NEW.due_at := now() + interval '15 days';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER appointments_patient_guard BEFORE UPDATE ON appointments
    FOR EACH ROW EXECUTE FUNCTION app_patient_write_guard(
        'status', 'cancel_reason', 'cancelled_at', 'updated_at');
CREATE TRIGGER consents_patient_guard BEFORE UPDATE ON consents
    FOR EACH ROW EXECUTE FUNCTION app_patient_write_guard(
        'granted', 'granted_at', 'revoked_at', 'updated_at');
CREATE TRIGGER data_subject_requests_patient_guard BEFORE INSERT OR UPDATE
    ON data_subject_requests
    FOR EACH ROW EXECUTE FUNCTION app_patient_write_guard('details', 'updated_at');
"""

# The access matrix (DESIGN.md), on top of the restrictive clinic scope. `(select f())` makes
# the planner evaluate the setting once per statement (an InitPlan), not once per row.
# TREATS(col) is app_treats_patient(col) written inline (see _expand_treats).
POLICIES = """
-- clinics: everyone reads their own clinic (patients too: Viewer.clinic); admin updates it.
CREATE POLICY clinics_select ON clinics FOR SELECT TO fisioflow_app
    USING ((select app_role()) IN ('admin', 'physiotherapist', 'receptionist', 'patient'));
CREATE POLICY clinics_update_admin ON clinics FOR UPDATE TO fisioflow_app
    USING ((select app_role()) = 'admin') WITH CHECK ((select app_role()) = 'admin');

-- users (staff): staff read the clinic's users, everyone reads their own row; admin writes.
CREATE POLICY users_select_staff ON users FOR SELECT TO fisioflow_app
    USING ((select app_role()) IN ('admin', 'physiotherapist', 'receptionist'));
CREATE POLICY users_select_self ON users FOR SELECT TO fisioflow_app
    USING (id = (select app_user_id()));
CREATE POLICY users_insert_admin ON users FOR INSERT TO fisioflow_app
    WITH CHECK ((select app_role()) = 'admin');
CREATE POLICY users_update_admin ON users FOR UPDATE TO fisioflow_app
    USING ((select app_role()) = 'admin') WITH CHECK ((select app_role()) = 'admin');

-- physiotherapists: everyone reads (names/CREFITO appear on appointments); admin writes.
CREATE POLICY physiotherapists_select ON physiotherapists FOR SELECT TO fisioflow_app
    USING ((select app_role()) IN ('admin', 'physiotherapist', 'receptionist', 'patient'));
CREATE POLICY physiotherapists_insert_admin ON physiotherapists FOR INSERT TO fisioflow_app
    WITH CHECK ((select app_role()) = 'admin');
CREATE POLICY physiotherapists_update_admin ON physiotherapists FOR UPDATE TO fisioflow_app
    USING ((select app_role()) = 'admin') WITH CHECK ((select app_role()) = 'admin');

-- patients: staff read all; admin/receptionist write; a physio writes rows assigned to them;
-- a patient reads their own row.
CREATE POLICY patients_select_staff ON patients FOR SELECT TO fisioflow_app
    USING ((select app_role()) IN ('admin', 'physiotherapist', 'receptionist'));
CREATE POLICY patients_select_own ON patients FOR SELECT TO fisioflow_app
    USING ((select app_role()) = 'patient' AND id = (select app_patient_id()));
CREATE POLICY patients_insert_front_desk ON patients FOR INSERT TO fisioflow_app
    WITH CHECK ((select app_role()) IN ('admin', 'receptionist'));
CREATE POLICY patients_insert_physio ON patients FOR INSERT TO fisioflow_app
    WITH CHECK ((select app_role()) = 'physiotherapist'
                AND physiotherapist_id = (select app_physiotherapist_id()));
CREATE POLICY patients_update_front_desk ON patients FOR UPDATE TO fisioflow_app
    USING ((select app_role()) IN ('admin', 'receptionist'))
    WITH CHECK ((select app_role()) IN ('admin', 'receptionist'));
CREATE POLICY patients_update_physio ON patients FOR UPDATE TO fisioflow_app
    USING ((select app_role()) = 'physiotherapist'
           AND physiotherapist_id = (select app_physiotherapist_id()))
    WITH CHECK ((select app_role()) = 'physiotherapist'
                AND physiotherapist_id = (select app_physiotherapist_id()));

-- appointments: staff read all; admin/receptionist write; a physio writes their own; a patient
-- reads their own and cancels (appointments_patient_guard limits the change).
CREATE POLICY appointments_select_staff ON appointments FOR SELECT TO fisioflow_app
    USING ((select app_role()) IN ('admin', 'physiotherapist', 'receptionist'));
CREATE POLICY appointments_select_own ON appointments FOR SELECT TO fisioflow_app
    USING ((select app_role()) = 'patient' AND patient_id = (select app_patient_id()));
CREATE POLICY appointments_insert_front_desk ON appointments FOR INSERT TO fisioflow_app
    WITH CHECK ((select app_role()) IN ('admin', 'receptionist'));
CREATE POLICY appointments_insert_physio ON appointments FOR INSERT TO fisioflow_app
    WITH CHECK ((select app_role()) = 'physiotherapist'
                AND physiotherapist_id = (select app_physiotherapist_id()));
CREATE POLICY appointments_update_front_desk ON appointments FOR UPDATE TO fisioflow_app
    USING ((select app_role()) IN ('admin', 'receptionist'))
    WITH CHECK ((select app_role()) IN ('admin', 'receptionist'));
CREATE POLICY appointments_update_physio ON appointments FOR UPDATE TO fisioflow_app
    USING ((select app_role()) = 'physiotherapist'
           AND physiotherapist_id = (select app_physiotherapist_id()))
    WITH CHECK ((select app_role()) = 'physiotherapist'
                AND physiotherapist_id = (select app_physiotherapist_id()));
CREATE POLICY appointments_update_patient ON appointments FOR UPDATE TO fisioflow_app
    USING ((select app_role()) = 'patient' AND patient_id = (select app_patient_id()))
    WITH CHECK ((select app_role()) = 'patient' AND patient_id = (select app_patient_id()));

-- prontuarios: admin reads; a physio reads and inserts (as author) for patients they treat;
-- a patient reads their own. No UPDATE/DELETE privilege at all (append-only, see 0003).
CREATE POLICY prontuarios_select_admin ON prontuarios FOR SELECT TO fisioflow_app
    USING ((select app_role()) = 'admin');
CREATE POLICY prontuarios_select_physio ON prontuarios FOR SELECT TO fisioflow_app
    USING ((select app_role()) = 'physiotherapist' AND TREATS(prontuarios.patient_id));
CREATE POLICY prontuarios_select_own ON prontuarios FOR SELECT TO fisioflow_app
    USING ((select app_role()) = 'patient' AND patient_id = (select app_patient_id()));
CREATE POLICY prontuarios_insert_physio ON prontuarios FOR INSERT TO fisioflow_app
    WITH CHECK ((select app_role()) = 'physiotherapist'
                AND author_id = (select app_physiotherapist_id())
                AND TREATS(prontuarios.patient_id));

-- prontuario_addenda: visible exactly when their prontuario is visible to the caller (the
-- subquery runs under prontuarios' own policies); physio inserts as author.
CREATE POLICY prontuario_addenda_select ON prontuario_addenda FOR SELECT TO fisioflow_app
    USING ((select app_role()) IN ('admin', 'physiotherapist', 'patient')
           AND EXISTS (SELECT FROM prontuarios p
                       WHERE p.id = prontuario_addenda.prontuario_id));
CREATE POLICY prontuario_addenda_insert_physio ON prontuario_addenda FOR INSERT TO fisioflow_app
    WITH CHECK ((select app_role()) = 'physiotherapist'
                AND author_id = (select app_physiotherapist_id())
                AND EXISTS (SELECT FROM prontuarios p
                            WHERE p.id = prontuario_addenda.prontuario_id
                              AND TREATS(p.patient_id)));

-- exercises: the shared library (clinic_id NULL) and the clinic's own rows are readable by
-- every authenticated role; admin and physio write the clinic's own rows.
CREATE POLICY exercises_select ON exercises FOR SELECT TO fisioflow_app
    USING ((select app_role()) IN ('admin', 'physiotherapist', 'receptionist', 'patient'));
CREATE POLICY exercises_insert_clinical ON exercises FOR INSERT TO fisioflow_app
    WITH CHECK ((select app_role()) IN ('admin', 'physiotherapist'));
CREATE POLICY exercises_update_clinical ON exercises FOR UPDATE TO fisioflow_app
    USING ((select app_role()) IN ('admin', 'physiotherapist'))
    WITH CHECK ((select app_role()) IN ('admin', 'physiotherapist'));
CREATE POLICY exercises_delete_clinical ON exercises FOR DELETE TO fisioflow_app
    USING ((select app_role()) IN ('admin', 'physiotherapist'));

-- exercise_prescriptions: admin reads; a physio reads/writes for patients they treat (and
-- prescribes as themselves, an exercise the clinic can see: its own or the shared library's);
-- a patient reads their own.
CREATE POLICY exercise_prescriptions_select_admin ON exercise_prescriptions
    FOR SELECT TO fisioflow_app
    USING ((select app_role()) = 'admin');
CREATE POLICY exercise_prescriptions_select_physio ON exercise_prescriptions
    FOR SELECT TO fisioflow_app
    USING ((select app_role()) = 'physiotherapist'
           AND TREATS(exercise_prescriptions.patient_id));
CREATE POLICY exercise_prescriptions_select_own ON exercise_prescriptions
    FOR SELECT TO fisioflow_app
    USING ((select app_role()) = 'patient' AND patient_id = (select app_patient_id()));
CREATE POLICY exercise_prescriptions_insert_physio ON exercise_prescriptions
    FOR INSERT TO fisioflow_app
    WITH CHECK ((select app_role()) = 'physiotherapist'
                AND physiotherapist_id = (select app_physiotherapist_id())
                AND TREATS(exercise_prescriptions.patient_id)
                AND EXISTS (SELECT FROM exercises e
                            WHERE e.id = exercise_prescriptions.exercise_id));
CREATE POLICY exercise_prescriptions_update_physio ON exercise_prescriptions
    FOR UPDATE TO fisioflow_app
    USING ((select app_role()) = 'physiotherapist'
           AND TREATS(exercise_prescriptions.patient_id))
    WITH CHECK ((select app_role()) = 'physiotherapist'
                AND TREATS(exercise_prescriptions.patient_id)
                AND EXISTS (SELECT FROM exercises e
                            WHERE e.id = exercise_prescriptions.exercise_id));

-- exercise_executions: admin reads; a physio reads for patients they treat; a patient reads
-- and records their own, against one of their own ACTIVE prescriptions.
CREATE POLICY exercise_executions_select_admin ON exercise_executions
    FOR SELECT TO fisioflow_app
    USING ((select app_role()) = 'admin');
CREATE POLICY exercise_executions_select_physio ON exercise_executions
    FOR SELECT TO fisioflow_app
    USING ((select app_role()) = 'physiotherapist'
           AND TREATS(exercise_executions.patient_id));
CREATE POLICY exercise_executions_select_own ON exercise_executions
    FOR SELECT TO fisioflow_app
    USING ((select app_role()) = 'patient' AND patient_id = (select app_patient_id()));
CREATE POLICY exercise_executions_insert_own ON exercise_executions
    FOR INSERT TO fisioflow_app
    WITH CHECK ((select app_role()) = 'patient'
                AND patient_id = (select app_patient_id())
                AND EXISTS (SELECT FROM exercise_prescriptions p
                            WHERE p.id = exercise_executions.prescription_id
                              AND p.patient_id = (select app_patient_id())
                              AND p.status = 'active'));

-- payments: admin/receptionist read and write; a patient reads their own.
CREATE POLICY payments_select_front_desk ON payments FOR SELECT TO fisioflow_app
    USING ((select app_role()) IN ('admin', 'receptionist'));
CREATE POLICY payments_select_own ON payments FOR SELECT TO fisioflow_app
    USING ((select app_role()) = 'patient' AND patient_id = (select app_patient_id()));
CREATE POLICY payments_insert_front_desk ON payments FOR INSERT TO fisioflow_app
    WITH CHECK ((select app_role()) IN ('admin', 'receptionist'));
CREATE POLICY payments_update_front_desk ON payments FOR UPDATE TO fisioflow_app
    USING ((select app_role()) IN ('admin', 'receptionist'))
    WITH CHECK ((select app_role()) IN ('admin', 'receptionist'));

-- compliance_checks, compliance_issues: admin reads/writes; physio and receptionist read.
CREATE POLICY compliance_checks_select_staff ON compliance_checks FOR SELECT TO fisioflow_app
    USING ((select app_role()) IN ('admin', 'physiotherapist', 'receptionist'));
CREATE POLICY compliance_checks_insert_admin ON compliance_checks FOR INSERT TO fisioflow_app
    WITH CHECK ((select app_role()) = 'admin');
CREATE POLICY compliance_checks_update_admin ON compliance_checks FOR UPDATE TO fisioflow_app
    USING ((select app_role()) = 'admin') WITH CHECK ((select app_role()) = 'admin');
CREATE POLICY compliance_issues_select_staff ON compliance_issues FOR SELECT TO fisioflow_app
    USING ((select app_role()) IN ('admin', 'physiotherapist', 'receptionist'));
CREATE POLICY compliance_issues_insert_admin ON compliance_issues FOR INSERT TO fisioflow_app
    WITH CHECK ((select app_role()) = 'admin');
CREATE POLICY compliance_issues_update_admin ON compliance_issues FOR UPDATE TO fisioflow_app
    USING ((select app_role()) = 'admin') WITH CHECK ((select app_role()) = 'admin');

-- audit_log: admin reads; nobody writes through fisioflow_app (only SELECT is granted; the
-- audit trigger of 0003 inserts as the owner).
CREATE POLICY audit_log_select_admin ON audit_log FOR SELECT TO fisioflow_app
    USING ((select app_role()) = 'admin');
"""

# consents and data_subject_requests share one shape: admin/receptionist read and write,
# physio reads, a patient reads, creates and updates their own (the guard trigger narrows it).
LGPD_POLICIES = """
CREATE POLICY {t}_select_staff ON {t} FOR SELECT TO fisioflow_app
    USING ((select app_role()) IN ('admin', 'physiotherapist', 'receptionist'));
CREATE POLICY {t}_select_own ON {t} FOR SELECT TO fisioflow_app
    USING ((select app_role()) = 'patient' AND patient_id = (select app_patient_id()));
CREATE POLICY {t}_insert_front_desk ON {t} FOR INSERT TO fisioflow_app
    WITH CHECK ((select app_role()) IN ('admin', 'receptionist'));
CREATE POLICY {t}_insert_own ON {t} FOR INSERT TO fisioflow_app
    WITH CHECK ((select app_role()) = 'patient' AND patient_id = (select app_patient_id()));
CREATE POLICY {t}_update_front_desk ON {t} FOR UPDATE TO fisioflow_app
    USING ((select app_role()) IN ('admin', 'receptionist'))
    WITH CHECK ((select app_role()) IN ('admin', 'receptionist'));
CREATE POLICY {t}_update_own ON {t} FOR UPDATE TO fisioflow_app
    USING ((select app_role()) = 'patient' AND patient_id = (select app_patient_id()))
    WITH CHECK ((select app_role()) = 'patient' AND patient_id = (select app_patient_id()));
"""

# exercises: reads also see the shared library; writes only touch the clinic's own rows.
EXERCISES_SCOPE = """
CREATE POLICY exercises_clinic_scope_select ON exercises AS RESTRICTIVE FOR SELECT
    TO fisioflow_app
    USING ((select app_clinic_id()) IS NOT NULL
           AND (clinic_id IS NULL OR clinic_id = (select app_clinic_id())));
CREATE POLICY exercises_clinic_scope_insert ON exercises AS RESTRICTIVE FOR INSERT
    TO fisioflow_app
    WITH CHECK (clinic_id = (select app_clinic_id()));
CREATE POLICY exercises_clinic_scope_update ON exercises AS RESTRICTIVE FOR UPDATE
    TO fisioflow_app
    USING (clinic_id = (select app_clinic_id()))
    WITH CHECK (clinic_id = (select app_clinic_id()));
CREATE POLICY exercises_clinic_scope_delete ON exercises AS RESTRICTIVE FOR DELETE
    TO fisioflow_app
    USING (clinic_id = (select app_clinic_id()));
"""


# Policies inline the body of app_treats_patient() instead of calling it: a SQL function with
# subqueries cannot be inlined, so it would run as a separate executor call per row (measured on
# PostgreSQL 15, 40k prontuarios: 1.46 s for a physio's full scan, 1.1 ms for one patient's),
# while inline EXISTS lets the planner pick a hashed subplan for scans and an index probe per
# row for lookups (19 ms and 0.14 ms). Columns are qualified: the subqueries have their own
# patient_id.
TREATS = (
    "(EXISTS (SELECT FROM patients treats_p WHERE treats_p.id = {col}"
    " AND treats_p.physiotherapist_id = (select app_physiotherapist_id()))"
    " OR EXISTS (SELECT FROM appointments treats_a WHERE treats_a.patient_id = {col}"
    " AND treats_a.physiotherapist_id = (select app_physiotherapist_id())))"
)


def _expand_treats(sql: str) -> str:
    return re.sub(r"TREATS\(([\w.]+)\)", lambda m: TREATS.format(col=m.group(1)), sql)


def _scope_and_grants() -> str:
    parts: list[str] = []
    for table, column in TABLES.items():
        parts.append(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;")
        parts.append(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY;")
        if table != "exercises":
            parts.append(
                f"CREATE POLICY {table}_clinic_scope ON {table} AS RESTRICTIVE TO fisioflow_app\n"
                f"    USING ({column} = (select app_clinic_id()))\n"
                f"    WITH CHECK ({column} = (select app_clinic_id()));"
            )
        parts.append(f"GRANT {PRIVILEGES[table]} ON {table} TO fisioflow_app;")
    parts.append(f"GRANT SELECT ({USERS_READABLE}) ON users TO fisioflow_app;")
    parts.append(EXERCISES_SCOPE)
    return "\n".join(parts)


def upgrade() -> None:
    run_script(
        "SET LOCAL ROLE fisioflow_owner;\n"
        + HELPERS
        + _scope_and_grants()
        + _expand_treats(POLICIES)
        + LGPD_POLICIES.format(t="consents")
        + LGPD_POLICIES.format(t="data_subject_requests")
        + AUTH
        + PATIENT_GUARD
        + "RESET ROLE;\n"
    )


DOWNGRADE = """
SET LOCAL ROLE fisioflow_owner;
DROP TRIGGER IF EXISTS appointments_patient_guard ON appointments;
DROP TRIGGER IF EXISTS consents_patient_guard ON consents;
DROP TRIGGER IF EXISTS data_subject_requests_patient_guard ON data_subject_requests;
DROP FUNCTION IF EXISTS app_patient_write_guard();
DO $$
DECLARE
    p record;
BEGIN
    FOR p IN SELECT policyname, tablename FROM pg_policies WHERE schemaname = 'public' LOOP
        EXECUTE format('DROP POLICY %I ON public.%I', p.policyname, p.tablename);
    END LOOP;
END
$$;
DROP FUNCTION IF EXISTS auth_user_by_email(text), auth_user_by_id(uuid),
    auth_record_login(uuid), app_treats_patient(uuid), app_user_id(), app_clinic_id(),
    app_role(), app_physiotherapist_id(), app_patient_id();
"""


def downgrade() -> None:
    parts = [DOWNGRADE]
    for table in TABLES:
        parts.append(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY;")
        parts.append(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;")
        parts.append(f"REVOKE ALL ON {table} FROM fisioflow_app;")
    parts.append("RESET ROLE;")
    run_script("\n".join(parts))

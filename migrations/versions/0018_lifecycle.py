"""The appointment's lifecycle as a state machine in the database, its audited history, and
patients booking their own sessions.

Revision ID: 0018_lifecycle
Revises: 0017_available_slots
Create Date: 2026-11-28

- `checked_in` (the patient arrived: the waiting room) joins the statuses, with
  `checked_in_at` (the arrival) and `no_show_reason`.
- `appointment_status_machine()` (BEFORE INSERT OR UPDATE) binds every writer, the owner too:
  scheduled → confirmed (before the start); scheduled | confirmed → checked_in (from
  CHECK_IN_HOURS before the start; the arrival neither in the future nor earlier than that:
  check_violation `appointments_arrival_check`);
  scheduled | confirmed | checked_in → completed (not before the start); scheduled | confirmed
  → cancelled; scheduled | confirmed → no_show (not before the start). completed, cancelled and
  no_show are terminal. An appointment is moved (time, physiotherapist, patient) only while
  scheduled or confirmed, to a future start; a confirmed one goes back to scheduled. The stamps
  (`cancelled_at`, `completed_at`) are the database's; the reasons and the arrival change only
  with their transition. fisioflow_app books as scheduled; the owner and superusers may load
  past appointments in any state (the seed, tests). Refusals raise SQLSTATE FF001 (the API's
  INVALID_STATE).
- `appointment_status_changes`: one row per status (the booking included, from NULL), with the
  actor (app.user_id, app.role) and time, written by the SECURITY DEFINER trigger
  `appointment_status_history()` in the same transaction (owner policy gated on
  fisioflow.definer = 'appointment_status'). Append-only for every role (refuse_change, ENABLE
  ALWAYS); fisioflow_app only reads it, staff of the clinic only.
- The patient guard (0002) lets a patient confirm or cancel (with a reason) their own future
  appointment; a cancellation later than `clinics.patient_cancel_notice_hours` before the start
  is refused (FF001).
- `appointments_insert_patient`: with `clinics.patient_self_booking`, a patient books for
  themselves, in the future, without price or notes, a physiotherapist who treats them
  (`app_treated_by`: assigned, on the care team, or a live appointment together).
"""

from collections.abc import Sequence

from migrations.sql import run_script

revision: str = "0018_lifecycle"
down_revision: str | None = "0017_available_slots"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECK_IN_HOURS = 2
STATES = "'scheduled', 'confirmed', 'checked_in', 'completed', 'cancelled', 'no_show'"
STATES_0001 = "'scheduled', 'confirmed', 'completed', 'cancelled', 'no_show'"

# app_patient_write_guard (0002) with its appointments branch as a parameter.
PATIENT_GUARD = """
CREATE OR REPLACE FUNCTION app_patient_write_guard() RETURNS trigger
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
{appointments}
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
"""
PATIENT_APPOINTMENTS = """
        IF NEW.status NOT IN ('confirmed', 'cancelled') OR NEW.status = OLD.status THEN
            RAISE EXCEPTION 'a patient may only confirm or cancel their appointment'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF OLD.starts_at <= now() THEN
            RAISE EXCEPTION 'a patient may only confirm or cancel a future appointment'
                USING ERRCODE = 'FF001';
        END IF;
        IF NEW.status = 'cancelled' AND OLD.starts_at - make_interval(hours =>
               (SELECT c.patient_cancel_notice_hours FROM public.clinics c
                WHERE c.id = OLD.clinic_id)) < now() THEN
            RAISE EXCEPTION 'too late to cancel: the clinic takes cancellations by patients up '
                            'to % hours before the start',
                (SELECT c.patient_cancel_notice_hours FROM public.clinics c
                 WHERE c.id = OLD.clinic_id)
                USING ERRCODE = 'FF001';
        END IF;"""
PATIENT_APPOINTMENTS_0002 = """
        IF NOT (NEW.status = 'cancelled' AND OLD.status IN ('scheduled', 'confirmed')
                AND OLD.starts_at > now()) THEN
            RAISE EXCEPTION 'a patient may only cancel a future scheduled appointment'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        NEW.cancelled_at := now();"""

MACHINE = f"""
CREATE FUNCTION appointment_status_machine() RETURNS trigger
    LANGUAGE plpgsql
AS $$
DECLARE
    moved boolean;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF current_user = 'fisioflow_app'
           AND (NEW.status <> 'scheduled' OR NEW.cancel_reason IS NOT NULL
                OR NEW.cancelled_at IS NOT NULL OR NEW.completed_at IS NOT NULL
                OR NEW.checked_in_at IS NOT NULL OR NEW.no_show_reason IS NOT NULL) THEN
            RAISE EXCEPTION 'an appointment is booked as scheduled' USING ERRCODE = 'FF001';
        END IF;
        RETURN NEW;
    END IF;
    moved := (NEW.starts_at, NEW.ends_at, NEW.physiotherapist_id, NEW.patient_id)
             IS DISTINCT FROM (OLD.starts_at, OLD.ends_at, OLD.physiotherapist_id, OLD.patient_id);
    IF NEW.status = OLD.status THEN
        IF (NEW.cancel_reason, NEW.cancelled_at, NEW.completed_at, NEW.checked_in_at,
            NEW.no_show_reason)
           IS DISTINCT FROM (OLD.cancel_reason, OLD.cancelled_at, OLD.completed_at,
                             OLD.checked_in_at, OLD.no_show_reason) THEN
            RAISE EXCEPTION 'an appointment''s reasons and times change only with its status'
                USING ERRCODE = 'FF001';
        END IF;
        IF moved THEN
            IF OLD.status NOT IN ('scheduled', 'confirmed') THEN
                RAISE EXCEPTION 'a % appointment cannot be moved', replace(OLD.status, '_', ' ')
                    USING ERRCODE = 'FF001';
            END IF;
            IF NEW.starts_at IS DISTINCT FROM OLD.starts_at AND NEW.starts_at <= now() THEN
                RAISE EXCEPTION 'an appointment is moved to a future time'
                    USING ERRCODE = 'FF001';
            END IF;
            -- The patient confirmed the old time, not the new one.
            NEW.status := 'scheduled';
        END IF;
        RETURN NEW;
    END IF;
    IF moved THEN
        RAISE EXCEPTION 'an appointment is moved or changes status, not both at once'
            USING ERRCODE = 'FF001';
    END IF;
    IF NOT ((OLD.status = 'scheduled'
             AND NEW.status IN ('confirmed', 'checked_in', 'completed', 'cancelled', 'no_show'))
            OR (OLD.status = 'confirmed'
                AND NEW.status IN ('checked_in', 'completed', 'cancelled', 'no_show'))
            OR (OLD.status = 'checked_in' AND NEW.status = 'completed')) THEN
        RAISE EXCEPTION 'a % appointment cannot become %',
            replace(OLD.status, '_', ' '), replace(NEW.status, '_', ' ')
            USING ERRCODE = 'FF001';
    END IF;
    IF (NEW.cancel_reason IS DISTINCT FROM OLD.cancel_reason AND NEW.status <> 'cancelled')
       OR (NEW.no_show_reason IS DISTINCT FROM OLD.no_show_reason AND NEW.status <> 'no_show')
       OR (NEW.checked_in_at IS DISTINCT FROM OLD.checked_in_at
           AND NEW.status <> 'checked_in') THEN
        RAISE EXCEPTION 'an appointment''s reasons and times change only with their status'
            USING ERRCODE = 'FF001';
    END IF;
    NEW.cancelled_at := OLD.cancelled_at;
    NEW.completed_at := OLD.completed_at;
    IF NEW.status = 'confirmed' AND OLD.starts_at <= now() THEN
        RAISE EXCEPTION 'an appointment is confirmed before it starts' USING ERRCODE = 'FF001';
    ELSIF NEW.status = 'checked_in' THEN
        IF now() < OLD.starts_at - interval '{CHECK_IN_HOURS} hours' THEN
            RAISE EXCEPTION 'check-in opens {CHECK_IN_HOURS} hours before the start'
                USING ERRCODE = 'FF001';
        END IF;
        NEW.checked_in_at := coalesce(NEW.checked_in_at, now());
        IF NEW.checked_in_at < OLD.starts_at - interval '{CHECK_IN_HOURS} hours'
           OR NEW.checked_in_at > now() THEN
            RAISE EXCEPTION 'the arrival is from {CHECK_IN_HOURS} hours before the start to now'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'appointments_arrival_check';
        END IF;
    ELSIF NEW.status IN ('completed', 'no_show') AND OLD.starts_at > now() THEN
        RAISE EXCEPTION 'an appointment cannot become % before it starts',
            replace(NEW.status, '_', ' ')
            USING ERRCODE = 'FF001';
    ELSIF NEW.status = 'completed' THEN
        NEW.completed_at := now();
    ELSIF NEW.status = 'cancelled' THEN
        NEW.cancelled_at := now();
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER appointments_status_machine BEFORE INSERT OR UPDATE ON appointments
    FOR EACH ROW EXECUTE FUNCTION appointment_status_machine();
ALTER TABLE appointments ENABLE ALWAYS TRIGGER appointments_status_machine;
"""

HISTORY = """
CREATE TABLE appointment_status_changes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    clinic_id uuid NOT NULL REFERENCES clinics(id),
    appointment_id uuid NOT NULL,
    from_status text,
    to_status text NOT NULL,
    reason text,
    actor_id uuid,
    actor_role text,
    changed_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (clinic_id, appointment_id) REFERENCES appointments (clinic_id, id)
);
CREATE INDEX appointment_status_changes_appointment_idx
    ON appointment_status_changes (appointment_id, changed_at, id);

ALTER TABLE appointment_status_changes ENABLE ROW LEVEL SECURITY;
ALTER TABLE appointment_status_changes FORCE ROW LEVEL SECURITY;
CREATE POLICY appointment_status_changes_clinic_scope ON appointment_status_changes
    AS RESTRICTIVE TO fisioflow_app
    USING (clinic_id = (select app_clinic_id()))
    WITH CHECK (clinic_id = (select app_clinic_id()));
CREATE POLICY appointment_status_changes_select_staff ON appointment_status_changes
    FOR SELECT TO fisioflow_app
    USING ((select app_role()) IN ('admin', 'physiotherapist', 'receptionist'));
CREATE POLICY appointment_status_changes_owner_insert ON appointment_status_changes
    FOR INSERT TO fisioflow_owner
    WITH CHECK (current_setting('fisioflow.definer', true) = 'appointment_status');
GRANT SELECT ON appointment_status_changes TO fisioflow_app;
CREATE TRIGGER appointment_status_changes_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON appointment_status_changes
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
ALTER TABLE appointment_status_changes ENABLE ALWAYS TRIGGER
    appointment_status_changes_append_only;

CREATE FUNCTION appointment_status_history() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    prev text := current_setting('fisioflow.definer', true);
BEGIN
    PERFORM set_config('fisioflow.definer', 'appointment_status', true);
    -- clock_timestamp(): the moment of the change, with the row locked (a transaction that
    -- began earlier but waited for the row comes later in the history).
    INSERT INTO public.appointment_status_changes
        (clinic_id, appointment_id, from_status, to_status, reason, actor_id, actor_role,
         changed_at)
    VALUES (NEW.clinic_id, NEW.id, CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, NEW.status,
            CASE NEW.status WHEN 'cancelled' THEN NEW.cancel_reason
                            WHEN 'no_show' THEN NEW.no_show_reason END,
            public.app_user_id(), public.app_role(), clock_timestamp());
    PERFORM set_config('fisioflow.definer', coalesce(prev, ''), true);
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION appointment_status_history() FROM PUBLIC;
CREATE TRIGGER appointments_status_booked AFTER INSERT ON appointments
    FOR EACH ROW EXECUTE FUNCTION appointment_status_history();
CREATE TRIGGER appointments_status_changed AFTER UPDATE ON appointments
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION appointment_status_history();
"""

SELF_BOOKING = """
-- The calling patient is treated by the physiotherapist: assigned to them, on their care
-- team, or a live appointment together. SECURITY INVOKER: the patient reads these rows of
-- their own (as app_treats_patient, 0002).
CREATE FUNCTION app_treated_by(physiotherapist_id uuid) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN EXISTS (SELECT FROM public.patients p
                   WHERE p.id = public.app_patient_id()
                     AND p.physiotherapist_id = app_treated_by.physiotherapist_id)
        OR EXISTS (SELECT FROM public.care_team_members c
                   WHERE c.patient_id = public.app_patient_id()
                     AND c.physiotherapist_id = app_treated_by.physiotherapist_id)
        OR EXISTS (SELECT FROM public.appointments a
                   WHERE a.patient_id = public.app_patient_id()
                     AND a.physiotherapist_id = app_treated_by.physiotherapist_id
                     AND a.status NOT IN ('cancelled', 'no_show'));
CREATE POLICY appointments_insert_patient ON appointments FOR INSERT TO fisioflow_app
    WITH CHECK ((select app_role()) = 'patient' AND patient_id = (select app_patient_id())
                AND starts_at > now() AND price IS NULL AND notes IS NULL
                AND EXISTS (SELECT FROM clinics c
                            WHERE c.id = appointments.clinic_id AND c.patient_self_booking)
                AND app_treated_by(physiotherapist_id));
"""

UPGRADE = f"""
SET LOCAL ROLE fisioflow_owner;
ALTER TABLE appointments DROP CONSTRAINT appointments_status_check;
ALTER TABLE appointments
    ADD CONSTRAINT appointments_status_check CHECK (status IN ({STATES})),
    ADD COLUMN checked_in_at timestamptz,
    ADD COLUMN no_show_reason text;
{MACHINE}
{HISTORY}
{PATIENT_GUARD.replace("{appointments}", PATIENT_APPOINTMENTS)}
{SELF_BOOKING}
RESET ROLE;
"""

DOWNGRADE = f"""
SET LOCAL ROLE fisioflow_owner;
DROP POLICY appointments_insert_patient ON appointments;
DROP FUNCTION app_treated_by(uuid);
{PATIENT_GUARD.replace("{appointments}", PATIENT_APPOINTMENTS_0002)}
DROP TRIGGER appointments_status_changed ON appointments;
DROP TRIGGER appointments_status_booked ON appointments;
DROP FUNCTION appointment_status_history();
DROP TABLE appointment_status_changes;
DROP TRIGGER appointments_status_machine ON appointments;
DROP FUNCTION appointment_status_machine();
UPDATE appointments SET status = 'confirmed' WHERE status = 'checked_in';
ALTER TABLE appointments
    DROP CONSTRAINT appointments_status_check,
    DROP COLUMN no_show_reason,
    DROP COLUMN checked_in_at;
ALTER TABLE appointments
    ADD CONSTRAINT appointments_status_check CHECK (status IN ({STATES_0001}));
RESET ROLE;
"""


def upgrade() -> None:
    run_script(UPGRADE)


def downgrade() -> None:
    run_script(DOWNGRADE)

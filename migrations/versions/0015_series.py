"""Recurring series of appointments ("10 sessions, Mondays and Wednesdays at 08:00").

Revision ID: 0015_series
Revises: 0014_availability
Create Date: 2026-11-28

- `appointment_series`: what was asked (patient, physiotherapist, first start, duration, type,
  ISO weekdays 1 = Monday .. 7 = Sunday, count), the starts skipped as conflicts, who asked
  (`created_by`, checked against the caller by the insert policies) and when it was cancelled.
  Written once: fisioflow_app may update only `cancelled_at`.
- `appointments.series_id`: the series an appointment was booked by (composite foreign key
  with the clinic, as the other references). Deferred to the commit: a series' appointments
  are inserted first (skipping the slots a concurrent booking took) and the series row after
  them, with the starts that were skipped.
- RLS as appointments: staff read, a patient reads their own; admin and receptionist create
  and cancel; a physiotherapist creates on their own agenda for a patient they already treat,
  and cancels their own.
"""

from collections.abc import Sequence

from migrations.sql import run_script

revision: str = "0015_series"
down_revision: str | None = "0014_availability"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PHYSIO = "(select app_role()) = 'physiotherapist'"
SELF = "(select app_physiotherapist_id())"

UPGRADE = f"""
SET LOCAL ROLE fisioflow_owner;

CREATE FUNCTION app_distinct_weekdays(days smallint[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (SELECT count(DISTINCT d) = count(*) FROM unnest(days) d);

CREATE TABLE appointment_series (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    clinic_id uuid NOT NULL REFERENCES clinics(id),
    patient_id uuid NOT NULL,
    physiotherapist_id uuid NOT NULL,
    first_starts_at timestamptz NOT NULL,
    duration_minutes integer NOT NULL,
    type text NOT NULL
        CHECK (type IN ('evaluation', 'session', 'reevaluation', 'teleconsultation')),
    iso_weekdays smallint[] NOT NULL,
    count integer NOT NULL,
    skipped_starts timestamptz[] NOT NULL DEFAULT '{{}}',
    created_by uuid NOT NULL DEFAULT app_user_id() REFERENCES users(id),
    created_at timestamptz NOT NULL DEFAULT now(),
    cancelled_at timestamptz,
    UNIQUE (clinic_id, id),
    CONSTRAINT appointment_series_duration_check CHECK (duration_minutes BETWEEN 5 AND 480),
    CONSTRAINT appointment_series_count_check CHECK (count BETWEEN 1 AND 60),
    CONSTRAINT appointment_series_weekdays_check
        CHECK (cardinality(iso_weekdays) BETWEEN 1 AND 7
               AND iso_weekdays <@ '{{1,2,3,4,5,6,7}}'::smallint[]
               AND app_distinct_weekdays(iso_weekdays)),
    CONSTRAINT appointment_series_skipped_check
        CHECK (cardinality(skipped_starts) <= count),
    FOREIGN KEY (clinic_id, patient_id) REFERENCES patients (clinic_id, id),
    FOREIGN KEY (clinic_id, physiotherapist_id) REFERENCES physiotherapists (clinic_id, id)
);

ALTER TABLE appointments ADD COLUMN series_id uuid,
    ADD CONSTRAINT appointments_clinic_id_series_id_fkey
        FOREIGN KEY (clinic_id, series_id) REFERENCES appointment_series (clinic_id, id)
        DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX appointments_series_idx ON appointments (series_id, starts_at, id)
    WHERE series_id IS NOT NULL;

ALTER TABLE appointment_series ENABLE ROW LEVEL SECURITY;
ALTER TABLE appointment_series FORCE ROW LEVEL SECURITY;
CREATE POLICY appointment_series_clinic_scope ON appointment_series AS RESTRICTIVE
    TO fisioflow_app
    USING (clinic_id = (select app_clinic_id()))
    WITH CHECK (clinic_id = (select app_clinic_id()));
CREATE POLICY appointment_series_select_staff ON appointment_series FOR SELECT
    TO fisioflow_app
    USING ((select app_role()) IN ('admin', 'physiotherapist', 'receptionist'));
CREATE POLICY appointment_series_select_own ON appointment_series FOR SELECT TO fisioflow_app
    USING ((select app_role()) = 'patient' AND patient_id = (select app_patient_id()));
CREATE POLICY appointment_series_insert_front_desk ON appointment_series FOR INSERT
    TO fisioflow_app
    WITH CHECK ((select app_role()) IN ('admin', 'receptionist')
                AND created_by = (select app_user_id()));
CREATE POLICY appointment_series_insert_physio ON appointment_series FOR INSERT
    TO fisioflow_app
    WITH CHECK ({PHYSIO} AND physiotherapist_id = {SELF}
                AND created_by = (select app_user_id())
                AND app_treats_patient(appointment_series.patient_id));
CREATE POLICY appointment_series_update_front_desk ON appointment_series FOR UPDATE
    TO fisioflow_app
    USING ((select app_role()) IN ('admin', 'receptionist'))
    WITH CHECK ((select app_role()) IN ('admin', 'receptionist'));
CREATE POLICY appointment_series_update_physio ON appointment_series FOR UPDATE
    TO fisioflow_app
    USING ({PHYSIO} AND physiotherapist_id = {SELF})
    WITH CHECK ({PHYSIO} AND physiotherapist_id = {SELF});
GRANT SELECT, INSERT, UPDATE (cancelled_at) ON appointment_series TO fisioflow_app;
CREATE TRIGGER appointment_series_audit AFTER INSERT OR UPDATE OR DELETE ON appointment_series
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();

RESET ROLE;
"""

DOWNGRADE = """
SET LOCAL ROLE fisioflow_owner;
DROP INDEX appointments_series_idx;
ALTER TABLE appointments DROP COLUMN series_id;
DROP TABLE appointment_series;
DROP FUNCTION app_distinct_weekdays(smallint[]);
RESET ROLE;
"""


def upgrade() -> None:
    run_script(UPGRADE)


def downgrade() -> None:
    run_script(DOWNGRADE)

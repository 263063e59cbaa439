"""Working hours, time off and clinic holidays; the availability check every booking passes.

Revision ID: 0014_availability
Revises: 0013_clinic_settings
Create Date: 2026-11-28

- `working_hours`: a physiotherapist's week, several wall-clock intervals a day (ISO weekday
  1 = Monday .. 7 = Sunday, `starts_at < ends_at`, no two overlapping on one weekday: an
  exclusion constraint), read in the clinic's time zone (clinics.time_zone, 0013).
- `time_off`: instants `[starts_at, ends_at)` the physiotherapist does not work (at most 366
  days each), with a reason. Staff only: patients never read it.
- `clinic_holidays`: a date of the clinic's calendar (in its zone) nobody works, with a name.
- `app_slot_refusal(physiotherapist_id, starts_at, ends_at)`: NULL when the physiotherapist's
  availability permits the interval, else 'clinic_holiday' (a holiday date of the clinic's
  calendar meets it), 'time_off' (it overlaps a time off) or 'outside_working_hours' (it does
  not fit inside one working interval of its local start date), checked in that order. A
  physiotherapist with no working hours at all is unconstrained by hours (holidays and time
  off still count). It never looks at appointments (the exclusion constraints do). SECURITY
  DEFINER so a patient (self-booking) gets an answer without reading time off; it reads only
  the caller's clinic (app.clinic_id): another clinic's physiotherapist has no hours or time
  off there, so the answer says nothing about that clinic.
- `appointments.outside_working_hours`: an admin's override of the working hours (only an
  admin may set it, or keep it while moving the appointment). The trigger
  `appointments_availability` refuses a live (not cancelled / no-show) appointment the
  availability does not permit whenever it is written, moved, re-activated or loses its
  override: holiday and time off as `exclusion_violation` (constraint `appointments_time_off`
  / `appointments_clinic_holiday`: SLOT_UNAVAILABLE), hours as `check_violation` (constraint
  `appointments_outside_working_hours`: OUTSIDE_WORKING_HOURS).

The definer functions read as the owner under owner-only policies gated on the
transaction-local `fisioflow.definer = 'availability'` and scoped to
`fisioflow.availability_clinic`, both set on entry and restored on exit (as 0002's login
functions do). The trigger scopes to the row's clinic, or skips a row of a clinic other than
the caller's: RLS refuses that row anyway, and an answer would tell about that clinic.
"""

from collections.abc import Sequence

from migrations.sql import run_script

revision: str = "0014_availability"
down_revision: str | None = "0013_clinic_settings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("working_hours", "time_off", "clinic_holidays")
STAFF = "('admin', 'physiotherapist', 'receptionist')"
EVERYONE = "('admin', 'physiotherapist', 'receptionist', 'patient')"
FRONT_DESK = "('admin', 'receptionist')"
OWN = (
    "((select app_role()) = 'physiotherapist'"
    " AND physiotherapist_id = (select app_physiotherapist_id()))"
)
DEFINER_SCOPE = (
    "current_setting('fisioflow.definer', true) = 'availability'"
    " AND {column} = nullif(current_setting('fisioflow.availability_clinic', true), '')::uuid"
)


def _policies() -> str:
    readers = {"working_hours": EVERYONE, "time_off": STAFF, "clinic_holidays": EVERYONE}
    parts: list[str] = []
    for table in TABLES:
        writers = f"((select app_role()) IN {FRONT_DESK})"
        if table != "clinic_holidays":
            writers = f"({writers} OR {OWN})"
        parts.append(
            f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;\n"
            f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY;\n"
            f"CREATE POLICY {table}_clinic_scope ON {table} AS RESTRICTIVE TO fisioflow_app\n"
            "    USING (clinic_id = (select app_clinic_id()))\n"
            "    WITH CHECK (clinic_id = (select app_clinic_id()));\n"
            f"CREATE POLICY {table}_select ON {table} FOR SELECT TO fisioflow_app\n"
            f"    USING ((select app_role()) IN {readers[table]});\n"
            f"CREATE POLICY {table}_insert ON {table} FOR INSERT TO fisioflow_app\n"
            f"    WITH CHECK {writers};\n"
            f"CREATE POLICY {table}_delete ON {table} FOR DELETE TO fisioflow_app\n"
            f"    USING {writers};\n"
            f"CREATE POLICY {table}_owner_availability ON {table} FOR SELECT TO fisioflow_owner\n"
            f"    USING ({DEFINER_SCOPE.format(column='clinic_id')});\n"
            f"GRANT SELECT, INSERT, DELETE ON {table} TO fisioflow_app;\n"
            f"CREATE TRIGGER {table}_audit AFTER INSERT OR UPDATE OR DELETE ON {table}\n"
            "    FOR EACH ROW EXECUTE FUNCTION audit_row_change();\n"
        )
    parts.append(
        "CREATE POLICY clinics_owner_availability ON clinics FOR SELECT TO fisioflow_owner\n"
        f"    USING ({DEFINER_SCOPE.format(column='id')});\n"
    )
    return "".join(parts)


UPGRADE = f"""
SET LOCAL ROLE fisioflow_owner;

CREATE TABLE working_hours (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    clinic_id uuid NOT NULL REFERENCES clinics(id),
    physiotherapist_id uuid NOT NULL,
    weekday smallint NOT NULL CONSTRAINT working_hours_weekday_check
        CHECK (weekday BETWEEN 1 AND 7),
    starts_at time NOT NULL,
    ends_at time NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (clinic_id, id),
    CONSTRAINT working_hours_interval_check CHECK (starts_at < ends_at),
    FOREIGN KEY (clinic_id, physiotherapist_id) REFERENCES physiotherapists (clinic_id, id),
    -- Any fixed date turns the wall times into a range the operator && compares.
    CONSTRAINT working_hours_no_overlap EXCLUDE USING gist (
        physiotherapist_id WITH =,
        weekday WITH =,
        tsrange(date '2000-01-03' + starts_at, date '2000-01-03' + ends_at) WITH &&
    )
);

CREATE TABLE time_off (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    clinic_id uuid NOT NULL REFERENCES clinics(id),
    physiotherapist_id uuid NOT NULL,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    reason text NOT NULL CONSTRAINT time_off_reason_check
        CHECK (btrim(reason) <> '' AND length(reason) <= 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (clinic_id, id),
    CONSTRAINT time_off_interval_check CHECK (starts_at < ends_at),
    CONSTRAINT time_off_duration_check CHECK (ends_at - starts_at <= interval '366 days'),
    FOREIGN KEY (clinic_id, physiotherapist_id) REFERENCES physiotherapists (clinic_id, id)
);
CREATE INDEX time_off_physiotherapist_idx ON time_off (physiotherapist_id, starts_at, id);

CREATE TABLE clinic_holidays (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    clinic_id uuid NOT NULL REFERENCES clinics(id),
    day date NOT NULL CONSTRAINT clinic_holidays_day_check
        CHECK (day BETWEEN date '2000-01-01' AND date '2199-12-31'),
    name text NOT NULL CONSTRAINT clinic_holidays_name_check
        CHECK (btrim(name) <> '' AND length(name) <= 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (clinic_id, id),
    CONSTRAINT clinic_holidays_day_key UNIQUE (clinic_id, day)
);

{_policies()}

ALTER TABLE appointments ADD COLUMN outside_working_hours boolean NOT NULL DEFAULT false;

-- The rule itself, for one clinic's rows; runs inside the definer functions below (as the
-- owner, under the availability policies). Not granted to fisioflow_app.
CREATE FUNCTION availability_refusal(clinic uuid, physiotherapist uuid,
                                     slot_starts timestamptz, slot_ends timestamptz)
    RETURNS text
    LANGUAGE sql STABLE
    SET search_path = public, pg_temp
AS $$
    WITH zone AS (SELECT c.time_zone AS tz FROM clinics c WHERE c.id = clinic)
    SELECT CASE
        WHEN EXISTS (
            SELECT FROM clinic_holidays h, zone
            WHERE h.clinic_id = clinic
              AND h.day BETWEEN (slot_starts AT TIME ZONE zone.tz)::date
                            AND ((slot_ends - interval '1 microsecond') AT TIME ZONE zone.tz)::date)
        THEN 'clinic_holiday'
        WHEN EXISTS (
            SELECT FROM time_off t
            WHERE t.clinic_id = clinic AND t.physiotherapist_id = physiotherapist
              AND t.starts_at < slot_ends AND t.ends_at > slot_starts)
        THEN 'time_off'
        WHEN EXISTS (
            SELECT FROM working_hours w
            WHERE w.clinic_id = clinic AND w.physiotherapist_id = physiotherapist)
         AND NOT EXISTS (
            SELECT FROM working_hours w, zone,
                 LATERAL (SELECT (slot_starts AT TIME ZONE zone.tz)::date AS day) local
            WHERE w.clinic_id = clinic AND w.physiotherapist_id = physiotherapist
              AND w.weekday = extract(isodow FROM local.day)
              AND slot_starts >= (local.day + w.starts_at) AT TIME ZONE zone.tz
              AND slot_ends <= (local.day + w.ends_at) AT TIME ZONE zone.tz)
        THEN 'outside_working_hours'
    END
$$;
REVOKE ALL ON FUNCTION availability_refusal(uuid, uuid, timestamptz, timestamptz) FROM PUBLIC;

CREATE FUNCTION app_slot_refusal(physiotherapist_id uuid, starts_at timestamptz,
                                 ends_at timestamptz)
    RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    prev_definer text := current_setting('fisioflow.definer', true);
    prev_clinic text := current_setting('fisioflow.availability_clinic', true);
    refusal text;
BEGIN
    PERFORM set_config('fisioflow.definer', 'availability', true),
            set_config('fisioflow.availability_clinic', coalesce(app_clinic_id()::text, ''), true);
    refusal := availability_refusal(app_clinic_id(), $1, $2, $3);
    PERFORM set_config('fisioflow.definer', coalesce(prev_definer, ''), true),
            set_config('fisioflow.availability_clinic', coalesce(prev_clinic, ''), true);
    RETURN refusal;
END
$$;
REVOKE ALL ON FUNCTION app_slot_refusal(uuid, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_slot_refusal(uuid, timestamptz, timestamptz) TO fisioflow_app;

CREATE FUNCTION appointments_availability() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    prev_definer text := current_setting('fisioflow.definer', true);
    prev_clinic text := current_setting('fisioflow.availability_clinic', true);
    live constant boolean := NEW.status NOT IN ('cancelled', 'no_show');
    moved boolean := TG_OP = 'INSERT';
    refusal text;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        moved := NEW.starts_at IS DISTINCT FROM OLD.starts_at
              OR NEW.ends_at IS DISTINCT FROM OLD.ends_at
              OR NEW.physiotherapist_id IS DISTINCT FROM OLD.physiotherapist_id
              OR OLD.status IN ('cancelled', 'no_show');
    END IF;
    -- Only an admin overrides the hours; a request with no role is maintenance (migrations,
    -- the seeder), which RLS does not let fisioflow_app do.
    IF NEW.outside_working_hours AND (moved OR NOT OLD.outside_working_hours)
       AND app_role() IS DISTINCT FROM 'admin' AND app_role() IS NOT NULL THEN
        RAISE EXCEPTION 'only an admin may book outside working hours'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT live OR NOT (moved OR (OLD.outside_working_hours AND NOT NEW.outside_working_hours))
       OR NEW.clinic_id IS DISTINCT FROM coalesce(app_clinic_id(), NEW.clinic_id) THEN
        RETURN NEW;
    END IF;
    PERFORM set_config('fisioflow.definer', 'availability', true),
            set_config('fisioflow.availability_clinic', NEW.clinic_id::text, true);
    refusal := availability_refusal(NEW.clinic_id, NEW.physiotherapist_id,
                                    NEW.starts_at, NEW.ends_at);
    PERFORM set_config('fisioflow.definer', coalesce(prev_definer, ''), true),
            set_config('fisioflow.availability_clinic', coalesce(prev_clinic, ''), true);
    IF refusal IN ('clinic_holiday', 'time_off') THEN
        RAISE EXCEPTION 'the physiotherapist is not available then (%)', refusal
            USING ERRCODE = 'exclusion_violation', CONSTRAINT = 'appointments_' || refusal;
    ELSIF refusal = 'outside_working_hours' AND NOT NEW.outside_working_hours THEN
        RAISE EXCEPTION 'outside the physiotherapist''s working hours'
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'appointments_outside_working_hours';
    END IF;
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION appointments_availability() FROM PUBLIC;
CREATE TRIGGER appointments_availability
    BEFORE INSERT OR UPDATE OF starts_at, ends_at, physiotherapist_id, status,
        outside_working_hours
    ON appointments
    FOR EACH ROW EXECUTE FUNCTION appointments_availability();

RESET ROLE;
"""

DOWNGRADE = """
SET LOCAL ROLE fisioflow_owner;
DROP TRIGGER appointments_availability ON appointments;
DROP FUNCTION appointments_availability();
DROP FUNCTION app_slot_refusal(uuid, timestamptz, timestamptz);
DROP FUNCTION availability_refusal(uuid, uuid, timestamptz, timestamptz);
ALTER TABLE appointments DROP COLUMN outside_working_hours;
DROP POLICY clinics_owner_availability ON clinics;
DROP TABLE clinic_holidays;
DROP TABLE time_off;
DROP TABLE working_hours;
RESET ROLE;
"""


def upgrade() -> None:
    run_script(UPGRADE)


def downgrade() -> None:
    run_script(DOWNGRADE)

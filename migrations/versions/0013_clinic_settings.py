"""The clinic's own settings the agenda needs: its time zone and how patients may book.

Revision ID: 0013_clinic_settings
Revises: 0012_inlined_global_ids
Create Date: 2026-11-28

- `time_zone`: the IANA zone the clinic's working hours, holidays and recurring series are
  read in (instants are stored; wall times are expanded in this zone, so daylight saving
  changes never move a session). Brazil has four zones; the default is the official one.
- `patient_self_booking`: whether patients may book their own sessions (off by default).
- `patient_cancel_notice_hours`: how long before a session a patient may still cancel it.

A trigger refuses a zone PostgreSQL does not know (a CHECK may not read pg_timezone_names).
"""

from collections.abc import Sequence

from migrations.sql import run_script

revision: str = "0013_clinic_settings"
down_revision: str | None = "0012_inlined_global_ids"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = """
SET LOCAL ROLE fisioflow_owner;
ALTER TABLE clinics
    ADD COLUMN time_zone text NOT NULL DEFAULT 'America/Sao_Paulo',
    ADD COLUMN patient_self_booking boolean NOT NULL DEFAULT false,
    ADD COLUMN patient_cancel_notice_hours integer NOT NULL DEFAULT 24,
    ADD CONSTRAINT clinics_cancel_notice_check
        CHECK (patient_cancel_notice_hours BETWEEN 0 AND 720);

CREATE FUNCTION clinics_known_time_zone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_timezone_names WHERE name = NEW.time_zone) THEN
        RAISE EXCEPTION 'unknown time zone %', NEW.time_zone
            USING ERRCODE = 'check_violation', CONSTRAINT = 'clinics_time_zone_check';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER clinics_known_time_zone BEFORE INSERT OR UPDATE OF time_zone ON clinics
    FOR EACH ROW EXECUTE FUNCTION clinics_known_time_zone();
RESET ROLE;
"""

DOWNGRADE = """
SET LOCAL ROLE fisioflow_owner;
DROP TRIGGER clinics_known_time_zone ON clinics;
DROP FUNCTION clinics_known_time_zone();
ALTER TABLE clinics
    DROP COLUMN patient_cancel_notice_hours,
    DROP COLUMN patient_self_booking,
    DROP COLUMN time_zone;
RESET ROLE;
"""


def upgrade() -> None:
    run_script(UPGRADE)


def downgrade() -> None:
    run_script(DOWNGRADE)

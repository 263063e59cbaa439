"""What keeps a physiotherapist busy, for `availableSlots` of every role.

Revision ID: 0017_available_slots
Revises: 0016_accounts
Create Date: 2026-11-28

`app_busy_intervals(from, to)`: the caller's clinic's live appointments (not cancelled or
no-show) and time off meeting [from, to), as (physiotherapist_id, during tstzrange) only: no
patient, no reason. SECURITY DEFINER (as 0014's `app_slot_refusal`, under owner policies
gated on `fisioflow.definer = 'availability'` and scoped to `fisioflow.availability_clinic`),
so a patient's `availableSlots` (self-booking) leaves out times other patients hold without
reading their appointments. It tells nothing a list of free slots would not.
"""

from collections.abc import Sequence

from migrations.sql import run_script

revision: str = "0017_available_slots"
down_revision: str | None = "0016_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = """
SET LOCAL ROLE fisioflow_owner;
CREATE POLICY appointments_owner_availability ON appointments FOR SELECT TO fisioflow_owner
    USING (current_setting('fisioflow.definer', true) = 'availability'
           AND clinic_id = nullif(current_setting('fisioflow.availability_clinic', true),
                                  '')::uuid);

CREATE FUNCTION app_busy_intervals(busy_from timestamptz, busy_to timestamptz)
    RETURNS TABLE (physiotherapist_id uuid, during tstzrange)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    prev_definer text := current_setting('fisioflow.definer', true);
    prev_clinic text := current_setting('fisioflow.availability_clinic', true);
BEGIN
    PERFORM set_config('fisioflow.definer', 'availability', true),
            set_config('fisioflow.availability_clinic', coalesce(app_clinic_id()::text, ''), true);
    RETURN QUERY
        SELECT a.physiotherapist_id, tstzrange(a.starts_at, a.ends_at)
        FROM appointments a
        WHERE a.clinic_id = app_clinic_id()
          AND a.status NOT IN ('cancelled', 'no_show')
          AND a.starts_at < busy_to AND a.ends_at > busy_from
        UNION ALL
        SELECT t.physiotherapist_id, tstzrange(t.starts_at, t.ends_at)
        FROM time_off t
        WHERE t.clinic_id = app_clinic_id()
          AND t.starts_at < busy_to AND t.ends_at > busy_from;
    PERFORM set_config('fisioflow.definer', coalesce(prev_definer, ''), true),
            set_config('fisioflow.availability_clinic', coalesce(prev_clinic, ''), true);
END
$$;
REVOKE ALL ON FUNCTION app_busy_intervals(timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_busy_intervals(timestamptz, timestamptz) TO fisioflow_app;
RESET ROLE;
"""

DOWNGRADE = """
SET LOCAL ROLE fisioflow_owner;
DROP FUNCTION app_busy_intervals(timestamptz, timestamptz);
DROP POLICY appointments_owner_availability ON appointments;
RESET ROLE;
"""


def upgrade() -> None:
    run_script(UPGRADE)


def downgrade() -> None:
    run_script(DOWNGRADE)

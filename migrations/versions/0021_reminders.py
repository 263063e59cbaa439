"""Appointment reminders: a row per reminder fired, written by the server's own worker.

Revision ID: 0021_reminders
Revises: 0020_event_log
Create Date: 2026-11-28

- `clinics.reminder_hours_before` (1 to 168, default 24): how long before a session its
  reminder fires.
- `is_reminder_consent(purpose)`: which consents are consents to reminders. A consent's
  purpose is the clinic's own text; one that begins with "Lembrete"/"Lembretes" (any case,
  as the demo's "Lembretes de consulta por WhatsApp e SMS") is the patient's consent to be
  reminded. Declared here once; the worker's query and the docs use it.
- `appointment_reminders`: one row per (appointment, start time) whose reminder fired —
  `UNIQUE (appointment_id, starts_at)`, so two server processes can never both fire it, and a
  rescheduled appointment (a new start) gets a reminder of its own. Ids and states only, no
  personal data: the event log's deferred `record_event()` trigger (0020) turns each INSERT
  into an event (`table_name = 'appointment_reminders'`, op INSERT, refs patient and
  physiotherapist), which webhooks deliver as APPOINTMENT_REMINDER. The e-mail state
  (`email_status`: none | pending | sent | failed | skipped, attempts, the next attempt, which
  is also the lease of the process sending it, and the last error's SMTP code/class) is
  updated by the worker and by no one else.
- Access: staff of the clinic read them, a patient their own; nobody else writes them. The
  worker (graph/integrations/reminders.py) runs as the server's login, a member of
  fisioflow_owner, with `fisioflow.definer = 'reminders'` in its transactions: owner policies
  gated on that setting let it read what it needs of clinics, appointments, patients,
  consents and physiotherapists, and write reminders (FORCE RLS keeps the owner blind
  otherwise). It sets `app.clinic_id` to the clinic it fires for, so the deferred event insert
  passes the event log's clinic check at commit.
"""

from collections.abc import Sequence

from migrations.sql import run_script

revision: str = "0021_reminders"
down_revision: str | None = "0020_event_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SERVER = "current_setting('fisioflow.definer', true) = 'reminders'"
# What the worker reads besides its own table.
READ_TABLES = ("clinics", "appointments", "patients", "consents", "physiotherapists")
STAFF = "(select app_role()) IN ('admin', 'physiotherapist', 'receptionist')"
OWN = "(select app_role()) = 'patient' AND patient_id = (select app_patient_id())"

READ_POLICIES = "\n".join(
    f"CREATE POLICY {table}_reminders ON {table} FOR SELECT TO fisioflow_owner USING ({SERVER});"
    for table in READ_TABLES
)

UPGRADE = f"""
SET LOCAL ROLE fisioflow_owner;
ALTER TABLE clinics
    ADD COLUMN reminder_hours_before integer NOT NULL DEFAULT 24,
    ADD CONSTRAINT clinics_reminder_hours_check CHECK (reminder_hours_before BETWEEN 1 AND 168);

CREATE FUNCTION is_reminder_consent(purpose text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN purpose ~* '^\\s*lembretes?\\M';

CREATE TABLE appointment_reminders (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    clinic_id uuid NOT NULL REFERENCES clinics(id),
    appointment_id uuid NOT NULL,
    patient_id uuid NOT NULL,
    physiotherapist_id uuid NOT NULL,
    starts_at timestamptz NOT NULL,
    fired_at timestamptz NOT NULL DEFAULT now(),
    email_status text NOT NULL
        CHECK (email_status IN ('none', 'pending', 'sent', 'failed', 'skipped')),
    email_attempts integer NOT NULL DEFAULT 0,
    email_next_attempt_at timestamptz,
    email_sent_at timestamptz,
    email_error text,
    CONSTRAINT appointment_reminders_once UNIQUE (appointment_id, starts_at),
    FOREIGN KEY (clinic_id, appointment_id) REFERENCES appointments (clinic_id, id),
    FOREIGN KEY (clinic_id, patient_id) REFERENCES patients (clinic_id, id),
    FOREIGN KEY (clinic_id, physiotherapist_id) REFERENCES physiotherapists (clinic_id, id)
);
CREATE INDEX appointment_reminders_email_due ON appointment_reminders (email_next_attempt_at)
    WHERE email_status = 'pending';
CREATE INDEX appointment_reminders_patient ON appointment_reminders (patient_id, fired_at);
ALTER TABLE appointment_reminders ENABLE ROW LEVEL SECURITY;
ALTER TABLE appointment_reminders FORCE ROW LEVEL SECURITY;
GRANT SELECT ON appointment_reminders TO fisioflow_app;
CREATE POLICY appointment_reminders_clinic_scope ON appointment_reminders AS RESTRICTIVE
    TO fisioflow_app
    USING (clinic_id = (select app_clinic_id()))
    WITH CHECK (clinic_id = (select app_clinic_id()));
CREATE POLICY appointment_reminders_select_staff ON appointment_reminders FOR SELECT
    TO fisioflow_app USING ({STAFF});
CREATE POLICY appointment_reminders_select_own ON appointment_reminders FOR SELECT
    TO fisioflow_app USING ({OWN});
CREATE POLICY appointment_reminders_server ON appointment_reminders TO fisioflow_owner
    USING ({SERVER}) WITH CHECK ({SERVER});
{READ_POLICIES}

CREATE CONSTRAINT TRIGGER appointment_reminders_event AFTER INSERT ON appointment_reminders
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION record_event();
RESET ROLE;
"""

DOWNGRADE = f"""
SET LOCAL ROLE fisioflow_owner;
{chr(10).join(f"DROP POLICY {table}_reminders ON {table};" for table in READ_TABLES)}
DROP TABLE appointment_reminders;
DROP FUNCTION is_reminder_consent(text);
ALTER TABLE clinics DROP COLUMN reminder_hours_before;
RESET ROLE;
"""


def upgrade() -> None:
    run_script(UPGRADE)


def downgrade() -> None:
    run_script(DOWNGRADE)

"""Webhooks: a clinic's admins subscribe URLs to events of the log; the server delivers them.

Revision ID: 0023_webhooks
Revises: 0022_group_reads
Create Date: 2026-11-28

- `webhooks`: the clinic's subscriptions (url, the WebhookEvent names, description, enabled).
  `secret` signs the deliveries: the app role may write it (createWebhook) but never read it
  (no column privilege, as `users.password_hash`), nor change it.
- `webhook_deliveries`: one row per (event, webhook) to send, or per redelivery; `payload`
  is the exact JSON body (ids only). State `pending` → `delivered` | `dead`; `attempts`
  and `next_attempt_at` (also the lease of the process sending it).
- `webhook_delivery_attempts`: one row per attempt: when, response status, duration, the
  error class. No response body.
- `webhook_dispatch_position` (one row): the last event `seq` turned into deliveries. It
  moves in the transaction that inserts them, under `FOR UPDATE SKIP LOCKED`: one process
  dispatches a range of the log at a time.
- Access: admins of the clinic read their webhooks, deliveries and attempts, create
  webhooks, disable them (`enabled`, `disabled_at` only) and redeliver (insert a delivery).
  Nobody else. The worker (graph/integrations/webhooks.py) runs as the server's login
  (fisioflow_owner) with `fisioflow.definer = 'webhooks'`: owner policies gated on it let
  it read webhooks, read reminders (the appointment of an APPOINTMENT_REMINDER) and write
  deliveries, attempts and the position; it reads the log through `events_after` (0020).
"""

from collections.abc import Sequence

from migrations.sql import run_script

revision: str = "0023_webhooks"
down_revision: str | None = "0022_group_reads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SERVER = "current_setting('fisioflow.definer', true) = 'webhooks'"
ADMIN = "(select app_role()) = 'admin'"
CLINIC_TABLES = ("webhooks", "webhook_deliveries", "webhook_delivery_attempts")
CLINIC_SCOPE = "\n".join(
    f"""ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
CREATE POLICY {table}_clinic_scope ON {table} AS RESTRICTIVE TO fisioflow_app
    USING (clinic_id = (select app_clinic_id()))
    WITH CHECK (clinic_id = (select app_clinic_id()));
CREATE POLICY {table}_admin ON {table} TO fisioflow_app USING ({ADMIN}) WITH CHECK ({ADMIN});
CREATE POLICY {table}_server ON {table} TO fisioflow_owner
    USING ({SERVER}) WITH CHECK ({SERVER});"""
    for table in CLINIC_TABLES
)
# Every column of `webhooks` but the secret.
WEBHOOK_READABLE = "id, clinic_id, url, events, description, enabled, created_at, disabled_at"

UPGRADE = f"""
SET LOCAL ROLE fisioflow_owner;
CREATE TABLE webhooks (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    clinic_id uuid NOT NULL REFERENCES clinics(id),
    url text NOT NULL CHECK (url ~* '^https?://' AND length(url) <= 2048),
    events text[] NOT NULL CHECK (cardinality(events) > 0),
    description text CHECK (length(description) <= 500),
    secret text NOT NULL CHECK (length(secret) >= 32),
    enabled boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    disabled_at timestamptz,
    UNIQUE (clinic_id, id)
);
CREATE INDEX webhooks_enabled ON webhooks (clinic_id) WHERE enabled;

CREATE TABLE webhook_deliveries (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    clinic_id uuid NOT NULL,
    webhook_id uuid NOT NULL,
    event_seq bigint NOT NULL,
    event_type text NOT NULL,
    payload jsonb NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    redelivery_of uuid REFERENCES webhook_deliveries(id),
    FOREIGN KEY (clinic_id, webhook_id) REFERENCES webhooks (clinic_id, id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_of_webhook ON webhook_deliveries (webhook_id, seq);

CREATE TABLE webhook_delivery_attempts (
    delivery_id uuid NOT NULL REFERENCES webhook_deliveries(id),
    attempt integer NOT NULL,
    clinic_id uuid NOT NULL,
    attempted_at timestamptz NOT NULL,
    response_status integer,
    duration_ms integer NOT NULL,
    error text CHECK (length(error) <= 200),
    PRIMARY KEY (delivery_id, attempt)
);

CREATE TABLE webhook_dispatch_position (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    last_seq bigint NOT NULL DEFAULT 0
);
INSERT INTO webhook_dispatch_position DEFAULT VALUES;
ALTER TABLE webhook_dispatch_position ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_dispatch_position FORCE ROW LEVEL SECURITY;
CREATE POLICY webhook_dispatch_position_server ON webhook_dispatch_position TO fisioflow_owner
    USING ({SERVER}) WITH CHECK ({SERVER});

{CLINIC_SCOPE}
GRANT SELECT ({WEBHOOK_READABLE}) ON webhooks TO fisioflow_app;
GRANT INSERT (clinic_id, url, events, description, secret) ON webhooks TO fisioflow_app;
GRANT UPDATE (enabled, disabled_at) ON webhooks TO fisioflow_app;
GRANT SELECT ON webhook_deliveries, webhook_delivery_attempts TO fisioflow_app;
GRANT INSERT (clinic_id, webhook_id, event_seq, event_type, payload, redelivery_of)
    ON webhook_deliveries TO fisioflow_app;
CREATE POLICY appointment_reminders_webhooks ON appointment_reminders FOR SELECT
    TO fisioflow_owner USING ({SERVER});
RESET ROLE;
"""

DOWNGRADE = """
SET LOCAL ROLE fisioflow_owner;
DROP POLICY appointment_reminders_webhooks ON appointment_reminders;
DROP TABLE webhook_dispatch_position;
DROP TABLE webhook_delivery_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
RESET ROLE;
"""


def upgrade() -> None:
    run_script(UPGRADE)


def downgrade() -> None:
    run_script(DOWNGRADE)

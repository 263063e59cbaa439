"""Webhook statements (migration 0023): the API's, as the admin under RLS, and the worker's
(graph/integrations/webhooks.py), as the server's login with `fisioflow.definer = 'webhooks'`.

`:at` is the worker's "now", a parameter so that tests can place it anywhere.
"""

from sqlalchemy import text

AT = "CAST(:at AS timestamptz)"
# Every column the app role may read: never `secret`.
WEBHOOK_COLUMNS = "id, clinic_id, url, events, description, enabled, created_at, disabled_at"
DELIVERY_COLUMNS = (
    "id, seq, webhook_id, event_seq, event_type, payload, status, attempts, next_attempt_at,"
    " created_at, delivered_at, redelivery_of"
)

# -- the API (as the caller) --------------------------------------------------------------------

CREATE_WEBHOOK = text(
    "INSERT INTO webhooks (clinic_id, url, events, description, secret)"
    " VALUES (CAST(:clinic AS uuid), :url, CAST(:events AS text[]), :description, :secret)"
    f" RETURNING {WEBHOOK_COLUMNS}"
)
LIST_WEBHOOKS = text(f"SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY created_at, id")
WEBHOOK = text(f"SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = CAST(:id AS uuid)")
DISABLE_WEBHOOK = text(
    "UPDATE webhooks SET enabled = false, disabled_at = coalesce(disabled_at, now())"
    f" WHERE id = CAST(:id AS uuid) RETURNING {WEBHOOK_COLUMNS}"
)
# A page of a webhook's deliveries, newest first: those before the cursor's `seq` (:before,
# NULL for the first page), one more than asked to tell whether another page follows.
DELIVERIES_PAGE = text(
    f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries"
    " WHERE webhook_id = CAST(:webhook AS uuid)"
    "   AND (CAST(:before AS bigint) IS NULL OR seq < CAST(:before AS bigint))"
    " ORDER BY seq DESC LIMIT :limit"
)
COUNT_DELIVERIES = text(
    "SELECT count(*) FROM webhook_deliveries WHERE webhook_id = CAST(:webhook AS uuid)"
)
ATTEMPTS_OF = text(
    "SELECT delivery_id, attempt, attempted_at, response_status, duration_ms, error"
    " FROM webhook_delivery_attempts WHERE delivery_id = ANY(CAST(:ids AS uuid[]))"
    " ORDER BY delivery_id, attempt"
)
DELIVERY = text(
    "SELECT d.id, w.enabled FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id"
    " WHERE d.id = CAST(:id AS uuid)"
)
# The same event again, as a new delivery of its own (its own attempts), due now.
REDELIVER = text(
    "INSERT INTO webhook_deliveries"
    " (clinic_id, webhook_id, event_seq, event_type, payload, redelivery_of)"
    " SELECT clinic_id, webhook_id, event_seq, event_type, payload, id"
    " FROM webhook_deliveries WHERE id = CAST(:id AS uuid)"
    f" RETURNING {DELIVERY_COLUMNS}"
)

# -- the worker (as the server's login) -------------------------------------------------------

AS_WORKER = text("SELECT set_config('fisioflow.definer', 'webhooks', true)")

# The dispatch position, locked for this transaction; no row if another process holds it.
LOCK_POSITION = text("SELECT last_seq FROM webhook_dispatch_position FOR UPDATE SKIP LOCKED")
EVENTS_AFTER = text(
    "SELECT seq, clinic_id, table_name, op, row_id, refs, recorded_at"
    " FROM events_after(:after, :batch)"
)
SUBSCRIBED = text(
    "SELECT id, clinic_id, events, created_at FROM webhooks"
    " WHERE enabled AND clinic_id = ANY(CAST(:clinics AS uuid[]))"
)
REMINDED_APPOINTMENTS = text(
    "SELECT id, appointment_id FROM appointment_reminders WHERE id = ANY(CAST(:ids AS uuid[]))"
)
INSERT_DELIVERY = text(
    "INSERT INTO webhook_deliveries (clinic_id, webhook_id, event_seq, event_type, payload,"
    " next_attempt_at)"
    f" VALUES (:clinic, :webhook, :seq, :event, CAST(:payload AS jsonb), {AT})"
)
ADVANCE_POSITION = text("UPDATE webhook_dispatch_position SET last_seq = :seq")

# Claims up to :batch deliveries due at :at of enabled webhooks: `SKIP LOCKED`, so two
# processes never claim one; the attempt is counted and the next one moved a lease ahead, so
# a delivery whose sender died is claimed again once the lease runs out.
CLAIM = text(
    f"""
WITH due AS (
    SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
    WHERE d.status = 'pending' AND d.next_attempt_at <= {AT} AND w.enabled
    ORDER BY d.next_attempt_at
    LIMIT :batch
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE webhook_deliveries d
SET attempts = d.attempts + 1, next_attempt_at = {AT} + make_interval(secs => :lease_seconds)
FROM due, webhooks w
WHERE d.id = due.id AND w.id = d.webhook_id
RETURNING d.id, d.clinic_id, d.attempts AS attempt, d.event_type, d.payload::text AS body,
          w.url, w.secret
"""
)
RECORD_ATTEMPT = text(
    "INSERT INTO webhook_delivery_attempts"
    " (delivery_id, attempt, clinic_id, attempted_at, response_status, duration_ms, error)"
    f" VALUES (:id, :attempt, :clinic, {AT}, :response_status, :duration_ms, :error)"
    " ON CONFLICT DO NOTHING"
)
# The outcome, written only by the process that made the attempt (the attempt number is the
# fence: a process whose lease ran out and whose delivery was claimed again writes nothing).
RECORD_OUTCOME = text(
    f"""
UPDATE webhook_deliveries
SET status = :status,
    next_attempt_at = coalesce(CAST(:next_attempt_at AS timestamptz), next_attempt_at),
    delivered_at = CASE WHEN :status = 'delivered' THEN {AT} END
WHERE id = :id AND attempts = :attempt AND status = 'pending'
"""
)

"""The reminder worker's statements (graph/integrations/reminders.py; migration 0021).

They run as the server's login with `fisioflow.definer = 'reminders'` set in the transaction,
which is what lets it read appointments, patients, consents, clinics and physiotherapists and
write `appointment_reminders` (owner policies gated on that setting). `:at` is the worker's
"now", a parameter so that tests can place it anywhere.
"""

from sqlalchemy import text

AT = "CAST(:at AS timestamptz)"

# The transaction acts as the reminder worker; with a clinic, the deferred event of each
# reminder inserted passes the event log's clinic check at commit.
AS_WORKER = text(
    "SELECT set_config('fisioflow.definer', 'reminders', true),"
    " set_config('app.clinic_id', coalesce(CAST(:clinic AS text), ''), true)"
)

# Whether the appointment `a` (of patient `p`) is still to be reminded of its current start:
# on (scheduled or confirmed), the patient not anonymized and holding a granted reminders
# consent (is_reminder_consent, 0021).
STILL_ON = """a.status IN ('scheduled', 'confirmed')
  AND p.anonymized_at IS NULL
  AND EXISTS (SELECT FROM consents k
              WHERE k.clinic_id = a.clinic_id AND k.patient_id = a.patient_id
                AND k.granted AND is_reminder_consent(k.purpose))"""

# Due at :at: still on, starting after :at and within its clinic's `reminder_hours_before`
# of it, and no reminder fired for this start time yet. A session booked closer than that is
# due at once, so it is reminded once, right away.
DUE = f"""
FROM appointments a
JOIN clinics c ON c.id = a.clinic_id
JOIN patients p ON p.clinic_id = a.clinic_id AND p.id = a.patient_id
WHERE {STILL_ON}
  AND a.starts_at > {AT}
  AND a.starts_at <= {AT} + make_interval(hours => c.reminder_hours_before)
  AND NOT EXISTS (SELECT FROM appointment_reminders r
                  WHERE r.appointment_id = a.id AND r.starts_at = a.starts_at)
"""

DUE_CLINICS = text(f"SELECT DISTINCT a.clinic_id {DUE}")

# The patient `p` is reached by e-mail, at an address they gave.
BY_EMAIL = "p.contact_channel = 'email' AND nullif(trim(p.email), '') IS NOT NULL"

# Fires the clinic's due reminders, their e-mail pending when e-mail is configured (:email)
# and the patient is reached by e-mail. ON CONFLICT: another process firing the same one
# concurrently waits for it and then writes nothing, so each fires (and is an event) once.
FIRE = text(
    f"""
INSERT INTO appointment_reminders (clinic_id, appointment_id, patient_id, physiotherapist_id,
                                   starts_at, fired_at, email_status, email_next_attempt_at)
SELECT a.clinic_id, a.id, a.patient_id, a.physiotherapist_id, a.starts_at, {AT},
       CASE WHEN CAST(:email AS boolean) AND {BY_EMAIL} THEN 'pending' ELSE 'none' END,
       CASE WHEN CAST(:email AS boolean) AND {BY_EMAIL} THEN {AT} END
{DUE}
  AND a.clinic_id = CAST(:clinic AS uuid)
ON CONFLICT ON CONSTRAINT appointment_reminders_once DO NOTHING
RETURNING id
"""
)

# Claims up to :batch pending e-mails due at :at: `SKIP LOCKED`, so two processes never claim
# one; the attempt is counted and the next one moved a lease ahead, so an e-mail whose sender
# died is claimed again once the lease runs out. Returns what the e-mail says, and whether
# it should still go (`still_on`: the appointment kept this start and is still on, the
# patient still consents and is still reached by e-mail).
CLAIM_EMAILS = text(
    f"""
WITH due AS (
    SELECT r.id FROM appointment_reminders r
    WHERE r.email_status = 'pending' AND r.email_next_attempt_at <= {AT}
    ORDER BY r.email_next_attempt_at
    LIMIT :batch
    FOR UPDATE SKIP LOCKED
)
UPDATE appointment_reminders r
SET email_attempts = r.email_attempts + 1,
    email_next_attempt_at = {AT} + make_interval(secs => :lease_seconds)
FROM due, appointments a, patients p, clinics c, physiotherapists ph
WHERE r.id = due.id AND a.id = r.appointment_id AND p.id = r.patient_id
  AND c.id = r.clinic_id AND ph.id = a.physiotherapist_id
RETURNING r.id, r.email_attempts AS attempt, r.starts_at, a.ends_at,
          p.name AS patient_name, p.email AS patient_email,
          c.name AS clinic_name, c.time_zone, c.patient_cancel_notice_hours,
          ph.name AS physiotherapist_name,
          (a.starts_at = r.starts_at AND {STILL_ON}
           AND {BY_EMAIL}) AS still_on
"""
)

# The outcome of an attempt, written only by the process that made it (the attempt number is
# the fence: a process whose lease ran out and whose e-mail was claimed again writes nothing).
# :next_attempt_at is set (a retry) only while :status is 'pending'.
RECORD_OUTCOME = text(
    f"""
UPDATE appointment_reminders
SET email_status = :status, email_error = :error,
    email_next_attempt_at = CAST(:next_attempt_at AS timestamptz),
    email_sent_at = CASE WHEN :status = 'sent' THEN {AT} END
WHERE id = :id AND email_attempts = :attempt AND email_status = 'pending'
"""
)

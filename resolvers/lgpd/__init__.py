"""LGPD: consents, data-subject requests, data export, anonymization and the audit log.

- Consents (arts. 7, 8, 11) keep their history: revoking sets `revokedAt` on the row (never
  deletes it), a new grant is a new row, and the clinic acknowledges each revocation
  (`acknowledgeConsentRevocation`) once it stopped processing for that purpose; the database
  refuses anything else (trigger `consents_rules`, migration 0005).
- Data-subject requests (arts. 18, 19): the deadline is the database's (requestedAt + 15
  days); lists put open requests first, by deadline, so overdue ones lead.
- `exportPatientData`: one JSON document with everything the clinic holds on the patient,
  read under the caller's RLS (admin: anyone of the clinic; patient: themselves) and logged
  as a read of the patient and of each prontuário.
- `anonymizePatient`: the SECURITY DEFINER function `anonymize_patient()` (0005) replaces
  the personal data, disables the patient's login and redacts the same data in the audit
  log; clinical and financial records stay for their legal retention.
"""

"""Prontuários: the physiotherapy record (COFFITO Resolução 414/2012) and its addenda.

A record holds the anamnesis (main complaint and history), the physical-functional
examination, the kinesiological-functional diagnosis and prognosis, the therapeutic plan
(goals, techniques, expected number of sessions), the evolution of each session, vital signs,
and the author's name and CREFITO as they were when it was signed.

Records are append-only: the API has no update or delete, and the database refuses both for
every role, the owner included (0003's `refuse_change` trigger); a correction is an addendum
with its author and time. Who reads what is decided by RLS (0002): an admin reads every record,
a physiotherapist reads and writes those of the patients they treat, a patient reads their own,
a receptionist none. Every path here (`Patient.prontuarios`, `Appointment.prontuario`,
`node(id:)`, the addenda) reads through the caller's RLS transaction, so a row the caller may
not see never leaves the database.
"""

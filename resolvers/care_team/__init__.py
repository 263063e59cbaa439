"""Care teams: the physiotherapists an admin or receptionist puts on a patient's team.

A physiotherapist treats a patient (reads and writes their records and prescriptions, books
them) who is assigned to them, on their care team, or has an appointment with them that is
neither cancelled nor a no-show (DESIGN.md; enforced by row-level security, migration 0008).
Only the front desk changes a team, so nobody makes themself one who treats; each change is
an audit row (the table's audit trigger) naming who made it.
"""

"""Deterministic seed data: a volume data set for benchmarks, the demo clinic, and new clinics.

`seed_volume` builds every row in plain Python (tuples; one pseudo-random stream per clinic, so
the same arguments give the same rows and ids) and loads them with COPY, one transaction per
clinic, in chunks of patients. A login that may (superuser) loads with
`session_replication_role = replica`: the audit and notify triggers stay silent, and so do the
foreign-key triggers, so the generator keeps every reference consistent itself (the tests check
each foreign key). Ids are UUIDv7-shaped and increasing per clinic, so every index on them is
appended to at its right edge (random v4 ids made the 100k-patient load ~30% slower).

Modules: `reference` (names, places, clinical texts), `identifiers` (CPF, CNPJ, CNS, CREFITO),
`calendar` (the year of slots), `tables` (what is written, columns from models/), the generator
(`stream`, the clinic's pseudo-random state; `appointments`, `payments`, `clinical`, `exercises`,
`compliance`, each adding its tables' rows; `generator`, the clinic, staff and patients), `loader`
(COPY), `volume`, `demo`, and `admin` (create-clinic, link-login).
Only the `fisioflow` CLI and bench/ import it: the server never does.
"""

"""The API's areas, one package each (accounts, staff, patients, care_team, scheduling, payments,
clinical, exercises, lgpd, compliance, node).

An area has `types.py` (its Strawberry types), `queries.py` / `mutations.py` /
`subscriptions.py` (a `@strawberry.type` class of its root fields, merged into `Query`,
`Mutation` and `Subscription` by graph/schema.py) and a type-free `data.py` (row-level reads
and writes other areas may call). Areas import each other's `data` modules only: a type of
another area is named with `strawberry.lazy` and built from a row by `resolvers.objects`.
Below the areas: `objects` (build any registered type from a row), `enums` (enums several
areas share) and `events` (what the areas' subscriptions share).
"""

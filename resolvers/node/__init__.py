"""`node(id:)` and `nodes(ids:)`: any object by its global ID."""

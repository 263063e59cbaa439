"""Strawberry extensions, one per file; the logic they apply lives below (security,
observability, core, sql). graph/schema.py lists them in the order they run."""

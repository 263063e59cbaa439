"""The shared MetaData; tables mirror migrations/ (migrations are the source of truth)."""

from sqlalchemy import MetaData

metadata = MetaData()

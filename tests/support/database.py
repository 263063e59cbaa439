"""Test databases: each test module that needs a clean slate makes its own on the server."""

import uuid

import asyncpg
from sqlalchemy.engine import make_url


def database_url_for(server: str, name: str) -> str:
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def plain_dsn(url: str) -> str:
    """The URL as asyncpg's connect() takes it (no SQLAlchemy driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def create_database(server: str) -> str:
    name = f"fisioflow_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(plain_dsn(server))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return database_url_for(server, name)


async def drop_database(server: str, url: str) -> None:
    name = make_url(url).database
    admin = await asyncpg.connect(plain_dsn(server))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()

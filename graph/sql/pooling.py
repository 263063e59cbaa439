"""Connection options for where `DATABASE_URL` leads: PostgreSQL itself, or a pooler in
transaction mode (`FISIOFLOW_POOLER=transaction`, e.g. PgBouncer's `pool_mode = transaction`).

A transaction-mode pooler hands each transaction whichever server connection is free, so
nothing may outlive a transaction on a server session:

- asyncpg's statement cache is off (`statement_cache_size=0`), and so is SQLAlchemy's; the
  statements SQLAlchemy prepares are unnamed (`''`): each is parsed, bound and run inside the
  request's transaction (one server connection) and replaced by the next one, so no name is
  left on a server session for another client to meet.
- Startup parameters are limited to `application_name` (PgBouncer refuses the others):
  `jit` and the statement time limit are set transaction-local instead (graph/sql/session.py,
  graph/http/fast_path.py).
- The identity is transaction-local everywhere already (`set_config(..., true)`).
- LISTEN is a session: the broker's listener connects to `FISIOFLOW_DIRECT_DATABASE_URL`.
"""

from typing import Any, Literal

Pooler = Literal["none", "transaction"]


def unnamed_statement() -> str:
    """SQLAlchemy's name for each statement it prepares: the unnamed statement."""
    return ""


def server_settings(pooler: Pooler, application_name: str, **settings: str) -> dict[str, str]:
    """Startup settings: all of them on a direct connection, only the name through a pooler."""
    if pooler == "transaction":
        return {"application_name": application_name}
    return {"application_name": application_name, **settings}


def engine_connect_args(pooler: Pooler) -> dict[str, Any]:
    """SQLAlchemy's asyncpg connect arguments."""
    arguments: dict[str, Any] = {"server_settings": server_settings(pooler, "fisioflow", jit="off")}
    if pooler == "transaction":
        arguments |= {
            "statement_cache_size": 0,
            "prepared_statement_cache_size": 0,
            "prepared_statement_name_func": unnamed_statement,
        }
    return arguments


def asyncpg_options(pooler: Pooler) -> dict[str, Any]:
    """asyncpg.connect()/create_pool() options of the fast path's own pool."""
    return {"statement_cache_size": 0} if pooler == "transaction" else {}

"""The two roles every database of the project has (migration 0001): created when the cluster
lacks them, by the migrations and by `fisioflow db restore` (graph/sql/backup.py) alike."""

CREATE_ROLES = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'fisioflow_owner') THEN
        CREATE ROLE fisioflow_owner NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'fisioflow_app') THEN
        CREATE ROLE fisioflow_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
    END IF;
END
$$;
"""

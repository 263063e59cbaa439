"""The database: RLS sessions, loaders, pagination, writes, the query compiler,
migrations."""

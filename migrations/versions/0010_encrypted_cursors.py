"""Opaque page cursors: `gql_cursor(payload, keys)` seals a cursor's JSON text as
graph/core/cursors.py does (SIV over HMAC-SHA-512), so the query compiler's cursors are the
resolvers' byte for byte.

Revision ID: 0010_encrypted_cursors
Revises: 0009_erasure_unlinks_login
Create Date: 2026-11-28

Built on the core `sha512` rather than pgcrypto: pgcrypto is not in every PostgreSQL the server
runs on (the embedded PostgreSQL 18 of development and the tests has no pgcrypto). `keys` is
`CursorCodec.sql_keys`: the HMAC inner and outer padded keys (128 bytes each) of the
authentication key, then of the encryption key, so no row pays for the key schedule. The
query passes them as a statement parameter, never in its text (plans are shared by callers).
"""

from collections.abc import Sequence

from migrations.sql import run_script

revision: str = "0010_encrypted_cursors"
down_revision: str | None = "0009_erasure_unlinks_login"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UP = r"""
SET LOCAL ROLE fisioflow_owner;

CREATE FUNCTION gql_cursor(payload text, keys bytea) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT
AS $$
DECLARE
    -- the JSON text, padded with spaces to a multiple of 16 bytes
    p bytea := convert_to(payload, 'UTF8');
    iv bytea;
    stream bytea;
BEGIN
    p := p || substr('\x20202020202020202020202020202020'::bytea, 1, 15 - (length(p) + 15) % 16);
    -- iv = HMAC-SHA-512(authentication key, p), first 16 bytes
    iv := substr(sha512(substr(keys, 129, 128) || sha512(substr(keys, 1, 128) || p)), 1, 16);
    -- keystream: HMAC-SHA-512(encryption key, iv || counter), 64 bytes per counter
    stream := sha512(substr(keys, 385, 128)
                     || sha512(substr(keys, 257, 128) || iv || '\x00000000'::bytea));
    FOR counter IN 1 .. (length(p) - 1) / 64 LOOP
        stream := stream || sha512(substr(keys, 385, 128)
                                   || sha512(substr(keys, 257, 128) || iv || int4send(counter)));
    END LOOP;
    -- base64url without padding of iv || (p XOR keystream); encode() wraps lines
    RETURN translate(rtrim(replace(encode(iv || substr(varbit_send(
               ('x' || encode(p, 'hex'))::varbit
               # ('x' || encode(substr(stream, 1, length(p)), 'hex'))::varbit), 5),
           'base64'), E'\n', ''), '='), '+/', '-_');
END
$$;

RESET ROLE;
"""

DOWN = """
DROP FUNCTION IF EXISTS gql_cursor(text, bytea);
"""


def upgrade() -> None:
    run_script(UP)


def downgrade() -> None:
    run_script(DOWN)

"""Page cursors, opaque: a list's kind and a row's sort key, encrypted and authenticated with
the server's key, so a cursor shows no personal data (a patients cursor holds a name) and a
client cannot make one up.

The plaintext is the JSON text `["patients", "Maria", "<id>"]` (timestamps as microseconds
since the epoch), byte for byte what PostgreSQL's `json_build_array(...)::text` prints: the
query compiler seals its cursors in SQL with `gql_cursor` (migration 0010), and both paths
give the same row the same cursor.

The scheme is SIV (deterministic authenticated encryption, Rogaway and Shrimpton) over
HMAC-SHA-512, which PostgreSQL computes from its built-in `sha512` (pgcrypto, and so AES, is
not in every PostgreSQL we run on, the embedded one of the tests among them):

- P = the JSON text padded with spaces to a multiple of 16 bytes (a length shows no more than
  an AES block would);
- iv = the first 16 bytes of HMAC-SHA-512(authentication key, P): the same row always has
  the same cursor, and it is the tag that authenticates P;
- C = P XOR the keystream HMAC-SHA-512(encryption key, iv || 0) || (iv || 1) || ...
  (counter as 4 bytes, big-endian);
- cursor = base64url without padding of iv || C.

Opening decrypts and recomputes the tag; a cursor that does not authenticate is malformed.
"""

import base64
import binascii
import datetime
import decimal
import hashlib
import hmac
import json
import uuid
from collections.abc import Sequence
from typing import Any

import orjson

from graph.core.errors import bad_input

TAG = 16  # bytes of iv, the synthetic IV and tag
BLOCK = 16  # the plaintext is padded to a multiple of this
HASH = hashlib.sha512
HASH_BLOCK = 128  # SHA-512's block: HMAC pads its key to this length
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
MICROSECOND = datetime.timedelta(microseconds=1)
_SCALARS = (str, int, float, bool, type(None))  # what a sort key holds; hashable
BASE64URL = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


class CursorCodec:
    """Seals and opens the cursors of one server's key (one per app, never module-wide:
    several apps with different settings may run in one process)."""

    def __init__(self, encryption_key: bytes, authentication_key: bytes) -> None:
        self._encryption = hmac.new(encryption_key, digestmod=HASH)
        self._authentication = hmac.new(authentication_key, digestmod=HASH)
        self.sql_keys = (_hmac_pads(authentication_key) + _hmac_pads(encryption_key)).hex()
        """`gql_cursor`'s second argument, in hex: HMAC's inner and outer padded keys, of
        the authentication key then the encryption key (512 bytes), computed once here
        rather than for every row in SQL."""

    @classmethod
    def from_secret(cls, secret: str) -> "CursorCodec":
        """Both keys derived from one secret: replicas sharing it make the same cursors."""
        key = secret.encode()
        return cls(
            hmac.digest(key, b"fisioflow cursor encryption", hashlib.sha256),
            hmac.digest(key, b"fisioflow cursor authentication", hashlib.sha256),
        )

    def encode(self, kind: str, key: Sequence[Any]) -> str:
        """The cursor of a row of the list `kind` whose sort key is `key`."""
        values = [kind, *(_json_value(v) for v in key)]
        return self.seal(json.dumps(values, ensure_ascii=False, separators=(", ", ": ")).encode())

    def decode(self, cursor: str, field: str) -> tuple[Any, ...]:
        """The kind and sort key a cursor holds; BAD_USER_INPUT on `field` for anything this
        server did not make."""
        plaintext = self.open(cursor)
        try:
            values = orjson.loads(plaintext) if plaintext is not None else None
        except orjson.JSONDecodeError:
            values = None
        if not isinstance(values, list) or not all(isinstance(v, _SCALARS) for v in values):
            raise bad_input(field, "Malformed cursor")
        return tuple(values)

    def seal(self, plaintext: bytes) -> str:
        padded = plaintext + b" " * (-len(plaintext) % BLOCK)
        iv = self._tag(padded)
        sealed = iv + _xor(padded, self._keystream(iv, len(padded)))
        return base64.urlsafe_b64encode(sealed).decode().rstrip("=")

    def open(self, cursor: str) -> bytes | None:
        """The padded plaintext; None unless the cursor is one this key sealed."""
        try:
            sealed = base64.urlsafe_b64decode(_padded_base64(cursor))
        except (binascii.Error, ValueError):
            return None
        iv, encrypted = sealed[:TAG], sealed[TAG:]
        if len(iv) < TAG or not encrypted or len(encrypted) % BLOCK:
            return None
        plaintext = _xor(encrypted, self._keystream(iv, len(encrypted)))
        return plaintext if hmac.compare_digest(self._tag(plaintext), iv) else None

    def _tag(self, plaintext: bytes) -> bytes:
        mac = self._authentication.copy()
        mac.update(plaintext)
        return mac.digest()[:TAG]

    def _keystream(self, iv: bytes, size: int) -> bytes:
        blocks = []
        for counter in range(-(-size // HASH().digest_size)):
            mac = self._encryption.copy()
            mac.update(iv + counter.to_bytes(4, "big"))
            blocks.append(mac.digest())
        return b"".join(blocks)


def _padded_base64(cursor: str) -> bytes:
    """The cursor as strict base64url input (urlsafe_b64decode skips what is not base64)."""
    raw = cursor.encode("ascii")  # UnicodeEncodeError is a ValueError
    if raw.translate(None, BASE64URL):
        raise ValueError("not base64url")
    return raw + b"=" * (-len(raw) % 4)


def _hmac_pads(key: bytes) -> bytes:
    padded = key.ljust(HASH_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in padded) + bytes(b ^ 0x5C for b in padded)


def _xor(data: bytes, stream: bytes) -> bytes:
    return (int.from_bytes(data) ^ int.from_bytes(stream[: len(data)])).to_bytes(len(data))


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return (value - EPOCH) // MICROSECOND
    if isinstance(value, uuid.UUID | datetime.date | decimal.Decimal):  # decimals as text:
        return str(value)  # exact, as PostgreSQL's `numeric::text` prints them
    return value

"""Relay global IDs: base64url of "TypeName:uuid", opaque to clients."""

import base64
import binascii
import uuid

from graph.core.errors import bad_input


def to_global_id(type_name: str, local_id: uuid.UUID | int | str) -> str:
    raw = f"{type_name}:{local_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_global_id(global_id: str, *, field: str = "id") -> tuple[str, str]:
    """(type name, local id) of a global ID; BAD_USER_INPUT for anything malformed."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, local_id = base64.urlsafe_b64decode(padded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise bad_input(field, "Malformed ID") from None
    if not type_name or not local_id:
        raise bad_input(field, "Malformed ID")
    return type_name, local_id


def parse_uuid_id(global_id: str, expected_type: str, *, field: str = "id") -> uuid.UUID:
    """The uuid behind a global ID of `expected_type`; BAD_USER_INPUT otherwise."""
    type_name, local_id = parse_global_id(global_id, field=field)
    if type_name != expected_type:
        raise bad_input(field, f"Expected the ID of a {expected_type}")
    try:
        return uuid.UUID(local_id)
    except ValueError:
        raise bad_input(field, "Malformed ID") from None

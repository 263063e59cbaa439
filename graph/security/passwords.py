"""Passwords: the policy every new password meets, and hashing (argon2id)."""

import asyncio
from functools import cache
from importlib.resources import files

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from graph.core.errors import bad_input

MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher()

# Verified against when the e-mail is unknown, so both failures cost the same time.
_DUMMY_HASH = _hasher.hash("fisioflow-no-such-user")


@cache
def common_passwords() -> frozenset[str]:
    """The bundled list (common_passwords.txt, shipped as package data), lower-cased."""
    text = files("graph.security").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def policy_violation(password: str, email: str) -> str | None:
    """Why `password` may not be the password of the login `email`, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"The password must have at least {MIN_PASSWORD_LENGTH} characters"
    lowered = password.strip().lower()
    address = email.strip().lower()
    if lowered in (address, address.partition("@")[0]):
        return "The password may not be the e-mail address or its part before the @"
    if lowered in common_passwords():
        return "This password is too common; choose one that is harder to guess"
    return None


def check_password(password: str, email: str, field: str = "password") -> str:
    """`password`, if the policy admits it for the login `email`; BAD_USER_INPUT otherwise."""
    reason = policy_violation(password, email)
    if reason is not None:
        raise bad_input(field, reason)
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def hash_password_async(password: str) -> str:
    """argon2 costs tens of milliseconds of CPU: keep it off the event loop."""
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    return await asyncio.to_thread(verify_password, password_hash, password)

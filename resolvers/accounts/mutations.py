"""`login` (a token for an e-mail and password, rate-limited per e-mail and address),
`changePassword` (the caller's own, every other token of theirs revoked) and `updateClinic`."""

from dataclasses import replace

import strawberry
from strawberry.types.unset import UNSET, UnsetType

from graph.api.builders import from_row
from graph.api.context import Info
from graph.api.partial_updates import Settable, as_is, given_values
from graph.core.errors import FORBIDDEN, UNAUTHENTICATED, ApiError, bad_input, not_found
from graph.core.identity import Identity, Role
from graph.core.validators import normalize_cnpj, required_text
from graph.security.auth import issue_token
from graph.security.credentials import login_by_email, login_by_id, record_login, set_own_password
from graph.security.passwords import check_password, hash_password_async, verify_password_async
from graph.security.ratelimit import login_attempt
from graph.sql.writes import update_row
from models.accounts import clinics
from resolvers.accounts.types import AuthPayload, Clinic, Viewer

LOGIN_FAILED = "Invalid e-mail or password"


@strawberry.input
class LoginInput:
    email: str
    password: str


@strawberry.input
class ChangePasswordInput:
    current_password: str
    new_password: str


@strawberry.input
class UpdateClinicInput:
    """Only the fields given change."""

    name: str | UnsetType | None = UNSET
    cnpj: str | UnsetType | None = UNSET
    time_zone: str | UnsetType | None = strawberry.field(
        default=UNSET, description="An IANA time zone, e.g. America/Sao_Paulo."
    )
    patient_self_booking: bool | UnsetType | None = UNSET
    patient_cancel_notice_hours: int | UnsetType | None = strawberry.field(
        default=UNSET, description="0 to 720."
    )
    reminder_hours_before: int | UnsetType | None = strawberry.field(
        default=UNSET, description="1 to 168: how long before a session its reminder fires."
    )


async def _answer(info: Info, identity: Identity) -> AuthPayload:
    """A fresh token for `identity`, which the rest of the request acts as."""
    token, expires_at = issue_token(
        identity, info.context.jwt_secret, info.context.settings.jwt_ttl_seconds
    )
    await info.context.switch_identity(identity)
    return AuthPayload(
        token=token,
        expires_at=expires_at,
        must_change_password=identity.password_change_required,
        viewer=Viewer(identity=identity),
    )


async def log_in(info: Info, input: LoginInput) -> AuthPayload:
    # Reserved as a failure before the password is checked (RATE_LIMITED once the limit is).
    attempt = login_attempt(info.context, input.email)
    try:
        stored = await login_by_email(info.context.db, input.email)
    except BaseException:  # e.g. the database is down: no password was checked
        attempt.withdrawn()
        raise
    valid = await verify_password_async(stored.password_hash if stored else None, input.password)
    if stored is None or not valid or not stored.active:
        raise ApiError(UNAUTHENTICATED, LOGIN_FAILED)
    attempt.succeeded()
    await record_login(info.context.db, stored.identity.user_id)
    # After an admin's reset, the token may only change the password (graph/extensions/auth_gate).
    identity = replace(stored.identity, password_change_required=stored.must_change_password)
    return await _answer(info, identity)


async def change_password(info: Info, input: ChangePasswordInput) -> AuthPayload:
    """Checked and rate-limited as a login by the caller's e-mail; the new hash bumps the
    login's token version (migration 0016), so every other token of the caller stops working
    at once; the answer carries a fresh one."""
    identity = info.context.require_identity()
    if identity.token_version is None:
        raise ApiError(FORBIDDEN, "A token of the identity provider: change the password there")
    stored = await login_by_id(info.context.db, identity.user_id)
    if stored is None:
        raise ApiError(UNAUTHENTICATED, "This login no longer exists")
    attempt = login_attempt(info.context, stored.email)
    if not await verify_password_async(stored.password_hash, input.current_password):
        raise bad_input("currentPassword", "The current password is not right")
    attempt.succeeded()
    check_password(input.new_password, stored.email, "newPassword")
    if input.new_password == input.current_password:
        raise bad_input("newPassword", "The new password must differ from the current one")
    version = await set_own_password(
        info.context.db, await hash_password_async(input.new_password), identity.token_version
    )
    if version is None:  # another change of this login's password won the race
        raise ApiError(UNAUTHENTICATED, "This token was revoked by a password change")
    return await _answer(
        info, replace(identity, token_version=version, password_change_required=False)
    )


def _cnpj(value: str, field: str) -> str | None:
    """Blank clears it."""
    return normalize_cnpj(value, field) if value.strip() else None


CLINIC_FIELDS: Settable = {
    "name": ("name", required_text, False),
    "cnpj": ("cnpj", _cnpj, True),
    "time_zone": ("timeZone", required_text, False),  # the database knows the zones
    "patient_self_booking": ("patientSelfBooking", as_is, False),
    "patient_cancel_notice_hours": ("patientCancelNoticeHours", as_is, False),
    "reminder_hours_before": ("reminderHoursBefore", as_is, False),
}


async def update_clinic(info: Info, input: UpdateClinicInput) -> Clinic:
    """The caller's clinic (admin); an unknown time zone, a notice or a reminder time out of
    range is refused by the database (clinics_time_zone_check, clinics_cancel_notice_check,
    clinics_reminder_hours_check)."""
    identity = info.context.require_role(Role.ADMIN)
    values = given_values(input, CLINIC_FIELDS)
    if values:
        row = await update_row(info.context.db, clinics, identity.clinic_id, values)
    else:
        row = await info.context.loaders.by_id(clinics).load(identity.clinic_id)
    if row is None:
        raise not_found("Clinic")
    return from_row(Clinic, row)


@strawberry.type
class AccountMutations:
    login: AuthPayload = strawberry.field(resolver=log_in)
    change_password: AuthPayload = strawberry.field(resolver=change_password)
    update_clinic: Clinic = strawberry.field(resolver=update_clinic)

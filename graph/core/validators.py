"""Validation of Brazilian identifiers and contact data; each failure names its input field."""

import re
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation

from graph.core.errors import bad_input

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CREFITO = re.compile(r"^(?:CREFITO-?)?(\d{1,2})/(\d{3,7})-?(F|TO)$", re.IGNORECASE)


def digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def mod11_digit(digits: Sequence[int], weights: Sequence[int]) -> int:
    """The Receita Federal check digit (CPF, CNPJ) of `digits` with `weights`."""
    rest = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
    return 0 if rest < 2 else 11 - rest


def cpf_with_check_digits(base: int) -> str:
    """The 11-digit CPF for a 9-digit base number."""
    numbers = [int(c) for c in f"{base:09d}"]
    numbers.append(mod11_digit(numbers, range(10, 1, -1)))
    numbers.append(mod11_digit(numbers, range(11, 1, -1)))
    return "".join(map(str, numbers))


def cpf_is_valid(cpf: str) -> bool:
    """Eleven digits, not all the same, and both check digits right."""
    if len(cpf) != 11 or not cpf.isdigit() or len(set(cpf)) == 1:
        return False
    return cpf_with_check_digits(int(cpf[:9])) == cpf


def normalize_cpf(value: str, field: str = "cpf") -> str:
    """The CPF as its 11 digits ("123.456.789-09" is accepted); BAD_USER_INPUT if invalid."""
    if re.search(r"[^\d.\-\s]", value):
        raise bad_input(field, "CPF must contain only digits, dots and a dash")
    cpf = digits(value)
    if not cpf_is_valid(cpf):
        raise bad_input(field, "Invalid CPF")
    return cpf


CNPJ_WEIGHTS = (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)


def normalize_cnpj(value: str, field: str = "cnpj") -> str:
    """The CNPJ as its 14 digits ("12.345.678/0001-95" is accepted); BAD_USER_INPUT if its
    check digits are wrong."""
    cnpj = digits(value)
    if re.search(r"[^\d./\-\s]", value) or len(cnpj) != 14 or len(set(cnpj)) == 1:
        raise bad_input(field, "CNPJ must have 14 digits")
    numbers = [int(c) for c in cnpj]
    if (
        mod11_digit(numbers[:12], CNPJ_WEIGHTS[1:]) != numbers[12]
        or mod11_digit(numbers[:13], CNPJ_WEIGHTS) != numbers[13]
    ):
        raise bad_input(field, "Invalid CNPJ")
    return cnpj


def normalize_cns(value: str, field: str = "cns") -> str:
    cns = digits(value)
    if len(cns) != 15 or re.search(r"[^\d\s]", value):
        raise bad_input(field, "CNS must have 15 digits")
    return cns


def normalize_email(value: str, field: str = "email") -> str:
    email = value.strip()
    if not _EMAIL.match(email):
        raise bad_input(field, "Invalid e-mail address")
    return email


_PHONE = re.compile(r"^\+?[0-9 ().\-]+$")


def normalize_phone(value: str, field: str = "phone") -> str:
    """A phone number as its digits (8 to 15, E.164's most), with its leading "+" if given:
    "+55 (11) 91234-5678" → "+5511912345678"."""
    number = value.strip()
    found = re.sub("[^0-9]", "", number)
    if not _PHONE.match(number) or not 8 <= len(found) <= 15:
        raise bad_input(field, "A phone number has 8 to 15 digits, e.g. +55 (11) 91234-5678")
    return ("+" if number.startswith("+") else "") + found


def normalize_crefito(value: str, field: str = "crefito") -> str:
    """CREFITO as "CREFITO-<region>/<number>-<F|TO>"."""
    match = _CREFITO.match(value.strip())
    if not match:
        raise bad_input(field, "CREFITO must look like CREFITO-3/123456-F")
    region, number, category = match.groups()
    return f"CREFITO-{int(region)}/{number}-{category.upper()}"


def required_text(value: str, field: str) -> str:
    """The text without surrounding blanks; it must not be empty. (Its length limit is
    declared in graph/security/input_limits.py, which refuses longer input before resolvers run.)"""
    text = value.strip()
    if not text:
        raise bad_input(field, f"{field} must not be empty")
    return text


MAX_MONEY = Decimal("9999999999.99")  # numeric(12, 2)


def money(value: Decimal, field: str) -> Decimal:
    """A positive amount with at most two decimal places, as numeric(12,2) stores it."""
    if not value.is_finite():
        raise bad_input(field, f"{field} is not a valid amount")
    try:
        cents = value.quantize(Decimal("0.01"))
    except InvalidOperation:
        raise bad_input(field, f"{field} is not a valid amount") from None
    if cents != value:
        raise bad_input(field, f"{field} may have at most two decimal places")
    if cents <= 0:
        raise bad_input(field, f"{field} must be greater than zero")
    if cents > MAX_MONEY:
        raise bad_input(field, f"{field} is too large")
    return cents


def aware(value: datetime, field: str) -> datetime:
    """Timestamps must say their offset: a clinic's agenda cannot guess a time zone."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise bad_input(field, f"{field} must include a time zone offset, e.g. -03:00")
    return value

"""Brazilian identifiers for seeded people and clinics: CPF, CNPJ, CNS, CREFITO; e-mail slugs."""

import random
import re
import unicodedata

from graph.core.validators import cpf_with_check_digits, mod11_digit

_CPF_BAD_BASES = tuple(int(str(d) * 9) for d in range(10))  # 000000000, 111111111, ...
_CPF_SPACE = 10**9 - len(_CPF_BAD_BASES)
_CPF_STEP = 982_451_653  # a prime, so index -> (index * step + offset) % space is a bijection


def cpf_for_index(index: int, salt: int) -> str:
    """A valid CPF, distinct for every index below ~10^9 (for one salt), never all one digit."""
    base = (index * _CPF_STEP + salt) % _CPF_SPACE
    for bad in _CPF_BAD_BASES:  # skip the all-same-digit bases, keeping the map a bijection
        if base >= bad:
            base += 1
    return cpf_with_check_digits(base)


def cnpj_from_base(base: int) -> str:
    digits = [int(c) for c in f"{base % 10**8:08d}0001"]
    digits.append(mod11_digit(digits, (5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)))
    digits.append(mod11_digit(digits, (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)))
    return "".join(map(str, digits))


def cns_from_rng(rng: random.Random) -> str:
    """A provisional Cartão Nacional de Saúde number (starts 7-9; weighted sum % 11 == 0)."""
    digits = [rng.randrange(7, 10), *(rng.randrange(10) for _ in range(13))]
    total = sum(d * w for d, w in zip(digits, range(15, 1, -1), strict=True))
    last = -total % 11
    if last == 10:  # move the weight-2 digit by one: changes the sum by 2
        digits[13] += 1 if digits[13] < 9 else -1
        total = sum(d * w for d, w in zip(digits, range(15, 1, -1), strict=True))
        last = -total % 11
    return "".join(map(str, digits)) + str(last)


def is_valid_cns(cns: str) -> bool:
    if len(cns) != 15 or not cns.isdigit():
        return False
    return sum(int(c) * w for c, w in zip(cns, range(15, 0, -1), strict=True)) % 11 == 0


def crefito(region: int, number: int) -> str:
    return f"CREFITO-{region}/{number:06d}-F"


def slug(text: str) -> str:
    """`João` -> `joao`: ASCII, lower case, for e-mail addresses."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", plain.lower())

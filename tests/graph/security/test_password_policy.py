"""The password policy's bundled list ships with the package and says what it must."""

import tomllib
from fnmatch import fnmatch
from pathlib import Path

from graph.security.passwords import common_passwords, policy_violation

ROOT = Path(__file__).resolve().parents[3]


def test_the_common_passwords_list_is_package_data() -> None:
    listed = common_passwords()
    assert len(listed) >= 500
    assert {"senha123", "senha12345", "mudar@123", "123456789", "qwertyuiop"} <= listed
    assert all(entry == entry.lower() and not entry.startswith("#") for entry in listed)
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["graph"]
    assert any(fnmatch("security/common_passwords.txt", pattern) for pattern in patterns)


def test_policy_reasons() -> None:
    email = "Maria.Silva@Clinica.com.br"
    assert policy_violation("uma frase longa e rara", email) is None
    assert "10 characters" in (policy_violation("Ab1!xyz", email) or "")
    for mine in ("maria.silva@clinica.com.br", "MARIA.SILVA", " maria.silva "):
        assert "e-mail" in (policy_violation(mine, email) or ""), mine
    for common in ("SENHA12345", "Palmeiras2025", "iloveyou123"):
        assert "too common" in (policy_violation(common, email) or ""), common

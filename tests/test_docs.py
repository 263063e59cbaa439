"""The documentation keeps up with the code: every setting and error code is described, and
every link of the README and docs/ leads to a file a clone has."""

import re
from pathlib import Path

import pytest

from graph.core import errors
from graph.core.settings import Settings
from graph.realtime.broker import SUBSCRIPTION_LAGGED

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _variable(name: str) -> str:
    alias = Settings.model_fields[name].validation_alias
    return alias if isinstance(alias, str) else f"FISIOFLOW_{name.upper()}"


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_in_the_operations_guide(name: str) -> None:
    variable = _variable(name)
    assert f"`{variable}`" in (ROOT / "docs" / "operations.md").read_text(), (
        f"describe {variable} in docs/operations.md (Settings)"
    )


def test_every_error_code_is_in_the_api_reference() -> None:
    codes = {
        value
        for name, value in vars(errors).items()
        if name.isupper() and isinstance(value, str) and re.fullmatch(r"[A-Z_]+", value)
    } | {SUBSCRIPTION_LAGGED}
    reference = (ROOT / "docs" / "api.md").read_text()
    assert codes, "graph/core/errors.py names the codes"
    missing = sorted(code for code in codes if f"`{code}`" not in reference)
    assert not missing, f"describe {missing} in docs/api.md (Errors)"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_links_lead_to_files_of_the_repository(document: Path) -> None:
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", document.read_text())
    local = [target for target in targets if "://" not in target]
    for target in local:
        path = (document.parent / target).resolve()
        assert path.is_relative_to(ROOT) and path.exists(), f"{document.name} links {target}"

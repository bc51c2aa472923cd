"""The configuration reference in README is the one generated from the settings schema."""

from __future__ import annotations

import re
from pathlib import Path

from vmha.contracts import environment_variables
from vmha.contracts.reference import settings_reference

README = Path(__file__).resolve().parents[2] / "README.md"


def test_reference_lists_every_setting_with_its_environment_twin() -> None:
    named = set(re.findall(r"`(VMHA_[A-Z0-9_]+)`", settings_reference()))
    assert named == set(environment_variables())
    assert "| `retry.max_attempts` | `VMHA_RETRY_MAX_ATTEMPTS` | `5` |" in settings_reference()


def test_readme_embeds_the_current_reference() -> None:
    text = README.read_text()
    embedded = text.split("<!-- settings-reference:begin -->\n", 1)[1].split("<!-- settings-reference:end -->")[0]
    assert embedded == settings_reference(), "regenerate with: vmha settings reference"

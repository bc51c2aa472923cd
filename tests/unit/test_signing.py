"""Signed webhook URLs as operators mint them: `vmha webhook-url`, the URLs `vmha deploy` gives Heat with
webhook_auth signed (the gateway accepts them, the templates' constraints admit them and the trust+ URLs),
expiries (90 days by default), and clear errors for bad input."""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import webob
import yaml

from vmha import cli
from vmha.api import webhooks
from vmha.api.web import ApiError
from vmha.deploy import SIGNED_PARAMETERS, DeployError, with_webhooks
from vmha.heat import template_path
from vmha.signing import NEVER, SigningError, parse_expiry, whole_day

NOW = 1_800_000_000.0


def _accepted(url: str, secret: str, now: float = NOW) -> bool:
    """Whether the gateway's check (vmha.api.webhooks.verify) lets ``url`` in."""
    parts = urlsplit(url)
    try:
        webhooks.verify(webob.Request.blank(f"{parts.path}?{parts.query}"), secret, now)
    except ApiError:
        return False
    return True


@pytest.mark.parametrize(("text", "expected"), [
    ("never", NEVER), ("90s", NOW + 90), ("30m", NOW + 1800), ("12h", NOW + 43200), ("7d", NOW + 604800),
    ("1900000000", 1_900_000_000), ("2030-01-01T00:00:00Z", 1_893_456_000),
    ("2030-01-01T01:00:00+01:00", 1_893_456_000),
])
def test_expiries(text: str, expected: float) -> None:
    assert parse_expiry(text, NOW) == expected


@pytest.mark.parametrize(("text", "words"), [
    ("soon", "is not never, a duration"), ("7w", "is not never"), ("2030-01-01T00:00:00", "no time zone"),
    ("1000", "already past"), ("2020-01-01T00:00:00Z", "already past"),
])
def test_bad_expiries_are_refused_clearly(text: str, words: str) -> None:
    with pytest.raises(SigningError, match=words):
        parse_expiry(text, NOW)


def test_deploy_signs_both_webhooks_for_the_environments_gateway_url() -> None:
    environment = {"parameter_defaults": {"gateway_url": "http://gw.example:15868", "webhook_auth": "signed"}}
    parameters = with_webhooks({"queue_prefix": "q"}, environment, "s3cret", NEVER)
    assert parameters["queue_prefix"] == "q" and set(SIGNED_PARAMETERS) <= set(parameters)
    for name, caller in SIGNED_PARAMETERS.items():
        url = parameters[name]
        assert url.startswith(f"http://gw.example:15868/v1/webhooks/{caller}?expires={NEVER}&signature=")
        assert "s3cret" not in url
        assert _accepted(url, "s3cret") and not _accepted(url, "other")
    # Idempotent: the same request signs the same URLs (a redeploy changes nothing).
    assert with_webhooks({"queue_prefix": "q"}, environment, "s3cret", NEVER) == parameters
    # A -p gateway_url wins over the environment's.
    assert with_webhooks({"gateway_url": "https://b:1"}, environment, "s3cret", NEVER)[
        "aodh_webhook_url"].startswith("https://b:1/v1/webhooks/aodh?")


def test_the_templates_admit_exactly_the_urls_deploy_signs() -> None:
    signed = with_webhooks({"gateway_url": "http://gw:1", "webhook_auth": "signed"}, {}, "k", NEVER)
    for template, parameter, name in (("wiring.yaml", "webhook_url", "zaqar_webhook_url"),
                                      ("alarms.yaml", "alarm_url", "aodh_webhook_url")):
        spec = yaml.safe_load(template_path(template).read_text())["parameters"][parameter]
        assert spec["hidden"] is True, f"{template}: the signature is a credential"
        pattern = spec["constraints"][0]["allowed_pattern"]
        assert re.fullmatch(pattern, signed[name]), template
        assert not re.fullmatch(pattern, f"http://gw:1{urlsplit(signed[name]).path}"), "unsigned admitted"
        assert re.fullmatch(pattern, f"trust+http://gw:1{urlsplit(signed[name]).path}"), "trust+ refused"


def test_deploy_keeps_urls_given_and_refuses_to_sign_without_a_secret_or_gateway() -> None:
    given = {"zaqar_webhook_url": "z", "aodh_webhook_url": "a", "webhook_auth": "signed"}
    assert with_webhooks(given, {}, "", NEVER) == given
    signed = {"webhook_auth": "signed"}
    with pytest.raises(DeployError, match=r"no api\.webhook_secret"):
        with_webhooks({"gateway_url": "http://gw:1", **signed}, {}, "", NEVER)
    with pytest.raises(DeployError, match="no gateway_url"):
        with_webhooks(signed, {}, "k", NEVER)
    with pytest.raises(SigningError, match="not http"):
        with_webhooks({"gateway_url": "http://gw:1/base", **signed}, {}, "k", NEVER)


def test_with_trusts_the_default_nothing_is_signed_and_no_secret_is_needed() -> None:
    assert with_webhooks({"gateway_url": "http://gw:1"}, {}, "", NEVER) == {"gateway_url": "http://gw:1"}
    trust = {"parameter_defaults": {"webhook_auth": "trust"}}
    assert with_webhooks({"gateway_url": "http://gw:1"}, trust, "k", NEVER) == {"gateway_url": "http://gw:1"}


def test_deployed_expiries_end_at_midnight_so_a_rerun_the_same_day_signs_the_same_urls() -> None:
    assert whole_day(NEVER) == NEVER
    first, later = whole_day(parse_expiry("90d", NOW)), whole_day(parse_expiry("90d", NOW + 3600))
    assert first == later and first % 86400 == 0 and NOW + 90 * 86400 <= first < NOW + 91 * 86400


def test_vmha_webhook_url_prints_a_url_the_gateway_accepts_and_never_the_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text("api:\n  webhook_secret: from-the-file\n")
    assert cli.main(["webhook-url", "zaqar", "--gateway-url", "http://127.0.0.1:15868", "--expires", "1h",
                     "--settings", str(settings)]) == 0
    url = capsys.readouterr().out.strip()
    assert url.startswith("http://127.0.0.1:15868/v1/webhooks/zaqar?expires=") and "from-the-file" not in url
    expires = int(re.findall(r"expires=(\d+)", url)[0])
    assert _accepted(url, "from-the-file", now=expires - 1) and not _accepted(url, "from-the-file", now=expires + 1)
    monkeypatch.setenv("VMHA_API_WEBHOOK_SECRET", "from-the-env")
    monkeypatch.setenv("VMHA_GATEWAY_URL", "https://gw:443")
    assert cli.main(["webhook-url", "aodh"]) == 0  # expires in 90 days by default
    url = capsys.readouterr().out.strip()
    expires = int(re.findall(r"expires=(\d+)", url)[0])
    assert url.startswith("https://gw:443/v1/webhooks/aodh?expires=") and _accepted(url, "from-the-env", expires - 1)
    assert 89 * 86400 < expires - time.time() <= 90 * 86400 and not _accepted(url, "from-the-env", expires + 1)


@pytest.mark.parametrize(("args", "environ", "words"), [
    (["aodh", "--gateway-url", "http://gw:1"], {}, "no api.webhook_secret"),
    (["aodh"], {"VMHA_API_WEBHOOK_SECRET": "k"}, "--gateway-url"),
    (["aodh", "--gateway-url", "gw:1"], {"VMHA_API_WEBHOOK_SECRET": "k"}, "not http(s)://host[:port]"),
    (["aodh", "--gateway-url", "http://gw:1", "--expires", "yesterday"], {"VMHA_API_WEBHOOK_SECRET": "k"},
     "is not never"),
])
def test_vmha_webhook_url_bad_input_is_one_line(
    args: list[str], environ: dict[str, str], words: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("VMHA_API_WEBHOOK_SECRET", "VMHA_GATEWAY_URL", "VMHA_SETTINGS_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["webhook-url", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("vmha: ") and words in captured.err
    assert "Traceback" not in captured.err

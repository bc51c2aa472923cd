"""Signed webhook URLs: minted by ``vmha deploy`` and ``vmha webhook-url``, checked by the gateway.

A webhook URL carries ``expires`` (Unix time) and ``signature``, the HMAC-SHA256 of ``<path>\\n<expires>``
with the gateway's ``api.webhook_secret``. Only the signature travels: the secret never leaves the
settings. Revoke every URL at once by changing the secret. Kept apart from ``vmha.api`` so operator
tools sign URLs without importing the gateway.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime
from urllib.parse import urlencode

ZAQAR_PATH = "/v1/webhooks/zaqar"
AODH_PATH = "/v1/webhooks/aodh"
WEBHOOK_PATHS = {"zaqar": ZAQAR_PATH, "aodh": AODH_PATH}
"""The gateway's webhook path of each caller."""

NEVER = 4102444800
"""2100-01-01T00:00:00Z: the expiry of URLs meant to last until the secret changes (``--expires never``)."""
DEFAULT_EXPIRY = "90d"
"""How long a signed URL lasts unless told otherwise (``vmha webhook-url``, ``vmha deploy``): a URL shown in a
stack's outputs or a log stops being a credential on its own."""
_DAY = 86400

_BASE_URL = re.compile(r"https?://[^/?#]+/?")
_RELATIVE = re.compile(r"(\d+)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class SigningError(ValueError):
    """A URL cannot be signed as asked (no secret, bad expiry); the message is for the operator."""


def signature(secret: str, path: str, expires: int) -> str:
    """The signature of a webhook URL with ``path``, valid until ``expires`` (Unix time)."""
    return signed_text(secret, path, str(expires))


def signed_text(secret: str, *parts: str) -> str:
    """HMAC-SHA256 (hex) with ``secret`` of ``parts`` joined by newlines: the one signature of vmha's webhook URLs
    and of its custom webhook steps' calls and answers (``vmha.functions.webhook_step``)."""
    return hmac.new(secret.encode(), "\n".join(parts).encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()


def same_signature(given: str, expected: str) -> bool:
    """Whether ``given`` is ``expected``, compared in constant time."""
    return hmac.compare_digest(given.encode(), expected.encode())


def signed_url(base_url: str, path: str, secret: str, expires: int) -> str:
    """The full webhook URL: ``base_url`` + ``path`` + the signature query; SigningError without a secret
    or for a base URL that is not http(s)://host[:port]."""
    if not _BASE_URL.fullmatch(base_url):
        raise SigningError(f"the gateway URL {base_url!r} is not http(s)://host[:port] (no path)")
    if not secret:
        raise SigningError("no api.webhook_secret to sign webhook URLs with (settings file or "
                           "VMHA_API_WEBHOOK_SECRET): the gateway refuses every webhook call without one")
    query = urlencode({"expires": expires, "signature": signature(secret, path, expires)})
    return f"{base_url.rstrip('/')}{path}?{query}"


def whole_day(expires: int) -> int:
    """``expires`` moved on to the next UTC midnight, so that a deploy run again the same day signs the same URLs
    (and changes nothing)."""
    return -(-expires // _DAY) * _DAY


def parse_expiry(text: str, now: float) -> int:
    """``never``, a duration from ``now`` (``90s``, ``30m``, ``12h``, ``7d``), Unix time or an ISO 8601
    time with its zone, as Unix time; SigningError for anything else or a time already past."""
    value = text.strip()
    relative = _RELATIVE.fullmatch(value)
    if value == "never":
        expires = NEVER
    elif relative:
        expires = int(now) + int(relative[1]) * _UNIT_SECONDS[relative[2]]
    elif value.isdigit():
        expires = int(value)
    else:
        expires = _iso(value)
    if expires <= now:
        raise SigningError(f"the expiry {text!r} is already past")
    return expires


def _iso(value: str) -> int:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise SigningError(f"expiry {value!r} is not never, a duration (7d, 12h, 30m, 90s), Unix time "
                           "or an ISO 8601 time") from error
    if moment.tzinfo is None:
        raise SigningError(f"expiry {value!r} has no time zone (add Z or +00:00)")
    return int(moment.timestamp())

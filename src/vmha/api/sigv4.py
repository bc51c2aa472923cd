"""AWS Signature Version 4 checked on the server side, for the Lambda Invoke API.

boto3 signs every request with an access key id and its secret; the gateway recomputes the signature with
the secret it holds for that key id (``settings.api.lambda_keys``) over the same canonical request, and
refuses a request that is unsigned, signed with an unknown key, for another service, more than
``MAX_SKEW`` away from the gateway's clock (a replay window), or whose signature differs. The region in the
credential scope is not checked: it is covered by the signature, and a gateway serves any region name.
Reference: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import webob

from vmha.api.web import ApiError
from vmha.contracts import ContractError

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "lambda"
MAX_SKEW = timedelta(minutes=15)
_AUTHORIZATION = re.compile(
    ALGORITHM + r" Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,"
    r"\s*SignedHeaders=(?P<headers>[a-z0-9;-]+),\s*Signature=(?P<signature>[0-9a-f]{64})$")


def parse_keys(entries: tuple[str, ...]) -> dict[str, str]:
    """``ACCESS_KEY_ID:SECRET`` entries as a mapping; ContractError naming ``api/lambda_keys`` otherwise."""
    keys = {}
    for entry in entries:
        key, _, secret = entry.partition(":")
        if not key or not secret:
            raise ContractError("each entry must be ACCESS_KEY_ID:SECRET", "api/lambda_keys")
        keys[key] = secret
    return keys


def verify(request: webob.Request, body: bytes, keys: Mapping[str, str], now: datetime) -> str:
    """The access key id that signed ``request``; ApiError 403 with an AWS error code otherwise."""
    found = _AUTHORIZATION.match(request.headers.get("Authorization", ""))
    if found is None:
        raise ApiError(403, "Missing or malformed SigV4 Authorization header", "MissingAuthenticationTokenException")
    secret = keys.get(found["key"])
    if secret is None:
        raise ApiError(403, "The security token included in the request is invalid.", "UnrecognizedClientException")
    if found["service"] != SERVICE:
        raise ApiError(403, f"Credential should be scoped to correct service: '{SERVICE}'.")
    stamp = request.headers.get("X-Amz-Date", "")
    try:
        signed_at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise ApiError(403, "Missing or malformed X-Amz-Date header") from None
    if abs(now - signed_at) > MAX_SKEW or stamp[:8] != found["date"]:
        raise ApiError(403, f"Signature expired: {stamp} is not within {MAX_SKEW} of the gateway's clock")
    scope = "/".join((found["date"], found["region"], found["service"], "aws4_request"))
    text = "\n".join((ALGORITHM, stamp, scope, _sha256(canonical_request(request, found["headers"], body))))
    expected = hmac.new(signing_key(secret, found["date"], found["region"]), text.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, found["signature"]):
        raise ApiError(403, "The request signature we calculated does not match the signature you provided.")
    return found["key"]


def canonical_request(request: webob.Request, signed_headers: str, body: bytes) -> str:
    """SigV4's canonical form of ``request`` (the path URI-encoded twice, as for every service but S3)."""
    names = signed_headers.split(";")
    if "host" not in names:
        raise ApiError(403, "The Host header must be signed")
    headers = "".join(f"{name}:{' '.join(request.headers.get(name, '').split())}\n" for name in names)
    query = "&".join(f"{_encode(key)}={_encode(value)}" for key, value in sorted(request.GET.items()))
    path = quote(quote(request.path_info, safe="/~"), safe="/~")
    return "\n".join((request.method, path, query, headers, signed_headers, _sha256(body)))


def signing_key(secret: str, date: str, region: str) -> bytes:
    """The key derived from ``secret`` for one day, region and the lambda service."""
    key = ("AWS4" + secret).encode()
    for part in (date, region, SERVICE, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _sha256(data: str | bytes) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def _encode(text: str) -> str:
    return quote(text, safe="-_.~")

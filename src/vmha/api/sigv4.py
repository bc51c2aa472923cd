"""AWS Signature Version 4 on the Lambda Invoke API, checked by Keystone against the EC2 credential that made it.

boto3 signs every request with an access key id and its secret. The key is a Keystone EC2 credential
(``openstack ec2 credentials create``): the gateway refuses here a request that is unsigned, for another
service, or more than ``MAX_SKEW`` away from its clock (a replay window), then sends the signature and what it
covers (the canonical request's parts) to Keystone, which recomputes it with the secret it holds and answers
with the credential's user, project and roles (``vmha.api.auth.keystone_ec2``). Keystone's canonical request
of a POST has no query string, so an invocation with ``Qualifier`` in its query fails its signature check.
Reference: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import webob

from vmha.api.auth import Ec2Identity
from vmha.api.policy import Caller
from vmha.api.web import ApiError

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "lambda"
MAX_SKEW = timedelta(minutes=15)
_AUTHORIZATION = re.compile(
    ALGORITHM + r" Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,"
    r"\s*SignedHeaders=(?P<headers>[a-z0-9;-]+),\s*Signature=(?P<signature>[0-9a-f]{64})$")


def verify(request: webob.Request, body: bytes, identify: Ec2Identity, now: datetime) -> Caller:
    """Who signed ``request``, as Keystone says; ApiError 403 with an AWS error code otherwise."""
    found = _AUTHORIZATION.match(request.headers.get("Authorization", ""))
    if found is None:
        raise ApiError(403, "Missing or malformed SigV4 Authorization header", "MissingAuthenticationTokenException")
    if found["service"] != SERVICE:
        raise ApiError(403, f"Credential should be scoped to correct service: '{SERVICE}'.")
    stamp = request.headers.get("X-Amz-Date", "")
    try:
        signed_at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise ApiError(403, "Missing or malformed X-Amz-Date header") from None
    if abs(now - signed_at) > MAX_SKEW or stamp[:8] != found["date"]:
        raise ApiError(403, f"Signature expired: {stamp} is not within {MAX_SKEW} of the gateway's clock")
    if "host" not in found["headers"].split(";"):
        raise ApiError(403, "The Host header must be signed")
    return identify(ec2_credentials(request, found["key"], found["signature"], body))


def ec2_credentials(request: webob.Request, key: str, signature: str, body: bytes) -> dict[str, object]:
    """Keystone's ec2tokens body for ``request``: the signature and every part of the canonical request (the
    path URI-encoded twice, as SigV4 does for every service but S3)."""
    return {"access": key, "signature": signature, "host": request.host, "verb": request.method,
            "path": quote(quote(request.path_info, safe="/~"), safe="/~"), "params": dict(request.GET),
            "headers": dict(request.headers), "body_hash": hashlib.sha256(body).hexdigest()}

"""Who is calling: Keystone tokens (keystonemiddleware's auth_token) and Keystone EC2 credentials (Lambda).

auth_token reads its options from the ``[keystone_authtoken]`` section of the service config file
(``api.config_file``, oslo.config), as in every OpenStack service: ``cafile``/``insecure``, ``memcached_servers``
and the ``memcache_*`` token cache, ``service_token_roles``... It validates tokens with the gateway's own
credentials (the cloud ``gateway.cloud`` names in clouds.yaml, the one it already uses for Nova and Zaqar), so
no second set of service credentials is configured; ``delay_auth_decision`` is always off (a missing or invalid
token is answered 401 by the middleware). ``www_authenticate_uri``, ``region_name``, ``interface``, ``cafile``
and ``http_connect_timeout`` default to the cloud's when the section leaves them out.

A Lambda call is signed (SigV4, ``vmha.api.sigv4``) with a Keystone EC2 credential (``openstack ec2
credentials create``): Keystone checks the signature (``POST /v3/ec2tokens``) and says whose it is, so the
caller has a Keystone user, project and roles like a token's, and no secret sits in the gateway's settings.
"""

from __future__ import annotations

import configparser
import logging
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from keystoneauth1 import exceptions as keystone_errors
from keystonemiddleware import auth_token

from vmha.api.policy import Caller, service_config
from vmha.api.web import ApiError
from vmha.contracts.secrets import MASK

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Filter = Callable[[WsgiApp], WsgiApp]
Ec2Identity = Callable[[Mapping[str, Any]], Caller]

SECTION = "keystone_authtoken"
_AUTH_OPTIONS = ("auth_url", "username", "password", "project_name", "project_id", "user_domain_name",
                 "user_domain_id", "project_domain_name", "project_domain_id", "user_id")
_UNKNOWN_OPTION = 'The option "%s" is not known to keystonemiddleware'
_SECRET_NAME = re.compile(r"password|secret", re.IGNORECASE)


class _AuthPluginOptions(logging.Filter):
    """Drops auth_token's warning about each auth plugin option given to it: its check of the options knows
    only its own, yet the plugin it loads reads these; the warnings would show at every gateway start."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.msg == _UNKNOWN_OPTION and isinstance(record.args, tuple)
                    and record.args[:1] and record.args[0] in _AUTH_OPTIONS)


_PLUGIN_OPTIONS_FILTER = _AuthPluginOptions()


def keystone_filter(cloud: Any, config_file: str) -> Filter:
    """Wraps a WSGI app in auth_token: ``[keystone_authtoken]`` of the service config file ``config_file``
    (``policy.service_config``), the credentials of the openstacksdk connection ``cloud``."""
    conf = service_config(config_file)
    for group, options in auth_token.list_opts():
        conf.register_opts(options, group=group)
    config = cloud.config
    credentials = {key: value for key, value in config.get_auth_args().items() if key in _AUTH_OPTIONS and value}
    fallbacks = {"www_authenticate_uri": credentials.get("auth_url", ""), "region_name": config.get_region_name(),
                 "interface": config.get_interface() or "public", "cafile": config.config.get("cacert")}
    if cloud.session.timeout:  # the gateway's timeouts.openstack_seconds, for token validation too
        fallbacks["http_connect_timeout"] = str(math.ceil(cloud.session.timeout))
    section = conf[SECTION]
    unset = {key: value for key, value in fallbacks.items() if value and section[key] == _default(key)}
    options = {**unset, **credentials, "auth_type": config.config.get("auth_type", "password"),
               "delay_auth_decision": False, "oslo_config_config": conf}

    logging.getLogger("keystonemiddleware._common.config").addFilter(_PLUGIN_OPTIONS_FILTER)

    def wrap(app: WsgiApp) -> WsgiApp:
        wrapped: WsgiApp = auth_token.AuthProtocol(app, dict(options))
        return wrapped
    return wrap


def _default(name: str) -> Any:
    for _group, options in auth_token.list_opts():
        for option in options:
            if option.dest == name:
                return option.default
    raise KeyError(name)


def token_caller(environ: Mapping[str, Any]) -> Caller:
    """The caller auth_token validated (its X-User-Id, X-Project-Id and X-Roles headers)."""
    roles = tuple(role.strip() for role in environ.get("HTTP_X_ROLES", "").split(",") if role.strip())
    user, project = environ.get("HTTP_X_USER_ID"), environ.get("HTTP_X_PROJECT_ID")
    return Caller(f"user:{user}", user, project, roles)


def keystone_ec2(cloud: Any) -> Ec2Identity:
    """Asks Keystone whose EC2 credential signed a request (``credentials``: Keystone's ec2tokens body);
    ApiError 403 (with Lambda's error codes) when Keystone does not know the key or the signature is wrong,
    503 when it does not answer."""
    def identify(credentials: Mapping[str, Any]) -> Caller:
        try:
            answer = cloud.session.post("/ec2tokens", json={"credentials": dict(credentials)}, raise_exc=False,
                                        endpoint_filter={"service_type": "identity", "interface": "public"})
        except keystone_errors.ClientException as error:
            raise ApiError(503, f"cannot ask Keystone whose key signed the call: {error}") from error
        if answer.status_code == 404:
            raise ApiError(403, "The security token included in the request is invalid.",
                           "UnrecognizedClientException")
        if 400 <= answer.status_code < 500:  # 401 mostly: a wrong signature, a disabled user or project
            raise ApiError(403, "The request signature we calculated does not match the signature you provided.",
                           "InvalidSignatureException")
        if answer.status_code != 200:
            raise ApiError(503, f"Keystone answered {answer.status_code} to the signature check")
        token = answer.json()["token"]
        user, project = token["user"]["id"], token.get("project", {}).get("id")
        return Caller(f"user:{user}", user, project, tuple(role["name"] for role in token.get("roles", ())))
    return identify



def masked_config(config_file: str) -> dict[str, dict[str, str]]:
    """The ``[keystone_authtoken]`` and ``[oslo_policy]`` options set in ``config_file`` as an operator may see
    them (``vmha settings check``): an option keystonemiddleware marks secret (``memcache_secret_key``...) or
    whose name says password or secret (the auth plugin's) is masked. ContractError for an unreadable file."""
    service_config(config_file)  # the same checks as the gateway's start
    parser = configparser.RawConfigParser(strict=False)
    parser.read(config_file)
    secret = {option.dest for _group, options in auth_token.list_opts() for option in options if option.secret}
    return {section: {name: MASK if name in secret or _SECRET_NAME.search(name) else value
                      for name, value in parser.items(section)}
            for section in (SECTION, "oslo_policy") if parser.has_section(section)}

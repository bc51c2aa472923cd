"""Keystone token authentication (keystonemiddleware's auth_token) and the role check after it.

The middleware validates tokens with the gateway's own credentials (the cloud named by ``gateway.cloud``
in clouds.yaml, the one it already uses for Nova and Zaqar), so no second set of service credentials is
configured. A missing or invalid token is answered 401 by the middleware; a valid token without one of
``settings.api.roles`` is answered 403 by ``require_role``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from typing import Any

from keystonemiddleware import auth_token

from vmha.api.web import ApiError

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Filter = Callable[[WsgiApp], WsgiApp]

_AUTH_OPTIONS = ("auth_url", "username", "password", "project_name", "project_id", "user_domain_name",
                 "user_domain_id", "project_domain_name", "project_domain_id", "user_id")
_UNKNOWN_OPTION = 'The option "%s" is not known to keystonemiddleware'


class _AuthPluginOptions(logging.Filter):
    """Drops auth_token's warning about each auth plugin option given to it: its check of the options knows
    only its own, yet the plugin it loads reads these; the warnings would show at every gateway start."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.msg == _UNKNOWN_OPTION and isinstance(record.args, tuple)
                    and record.args[:1] and record.args[0] in _AUTH_OPTIONS)


_PLUGIN_OPTIONS_FILTER = _AuthPluginOptions()


def keystone_filter(cloud: Any) -> Filter:
    """Wraps a WSGI app in auth_token, configured from the openstacksdk connection ``cloud``."""
    config = cloud.config
    options = {key: value for key, value in config.get_auth_args().items() if key in _AUTH_OPTIONS and value}
    conf = {**options, "auth_type": config.config.get("auth_type", "password"),
            "www_authenticate_uri": options.get("auth_url", ""), "region_name": config.get_region_name(),
            "interface": config.get_interface() or "public", "delay_auth_decision": False}
    if cloud.session.timeout:  # the gateway's timeouts.openstack_seconds, for token validation too
        conf["http_connect_timeout"] = str(math.ceil(cloud.session.timeout))

    logging.getLogger("keystonemiddleware._common.config").addFilter(_PLUGIN_OPTIONS_FILTER)

    def wrap(app: WsgiApp) -> WsgiApp:
        wrapped: WsgiApp = auth_token.AuthProtocol(app, conf)
        return wrapped
    return wrap


def require_role(environ: dict[str, Any], roles: tuple[str, ...]) -> None:
    """ApiError 403 unless the validated token has one of ``roles``."""
    held = {role.strip() for role in environ.get("HTTP_X_ROLES", "").split(",") if role.strip()}
    if not held & set(roles):
        raise ApiError(403, f"Policy doesn't allow this operation to be performed: it needs one of the roles "
                            f"{', '.join(roles)}.")

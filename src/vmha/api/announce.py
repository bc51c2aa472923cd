"""Masakari's versioned notifications of the segment and host writes, around the Masakari API's handlers.

A write that succeeded is announced ``<kind>.<action>.start`` with the object as it stood (a create: as made)
and ``.end`` with the object as it is now (a delete: as it stood); one that failed on Nova's side (5xx) ``.start``
then ``.error`` with the reason. A refused request (4xx) is announced nothing, as Masakari checks a request before
it starts. The objects are read through the ``show`` route at the newest microversion, whatever the caller asked
for, so a payload always has every field. Sent through ``vmha.versioned_notifications``, which never makes a
request wait.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import webob

from vmha.api import versions
from vmha.api.web import ApiError
from vmha.versioned_notifications import Phase, VersionedNotifier

Handler = Callable[[webob.Request, Mapping[str, str]], webob.Response]
_ID = {"segment": "segment_id", "host": "host_id"}


def announced(events: VersionedNotifier, kind: str, action: str, handler: Handler, show: Handler) -> Handler:
    """``handler`` announcing its ``kind`` (``segment`` or ``host``) ``action``; ``show`` reads one object.
    Unchanged while versioned notifications are off."""
    if not events.enabled:
        return handler
    send = events.segment if kind == "segment" else events.host

    def handle(request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        newest = request.copy()
        newest.environ[versions.ENVIRON_KEY] = versions.MAX_VERSION
        before = _object(show(newest, params), kind) if action != "create" else {}
        try:
            response = handler(request, params)
        except ApiError as error:
            if error.status >= 500:
                send(action, Phase.START, before)
                send(action, Phase.ERROR, before, error.message)
            raise
        made = _object(response, kind) if response.body else {}
        after = _object(show(newest, {**params, _ID[kind]: made["uuid"]}), kind) if made else before
        send(action, Phase.START, before or after)
        send(action, Phase.END, after)
        return response

    return handle


def _object(response: webob.Response, kind: str) -> dict[str, Any]:
    body = response.json
    found = body.get(kind) if isinstance(body, dict) else None
    return found if isinstance(found, dict) else {}

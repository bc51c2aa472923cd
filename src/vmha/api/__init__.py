"""The gateway's HTTP API (served by ``vmha gateway``), a WSGI app in a handful of small modules.

- ``app``: the route table and authentication per route; ``server``: the HTTP server (cheroot, TLS) and the
  middleware pipeline; ``throttle``: the wake-up's rate limit;
- ``masakari``, ``vmoves``, ``segments``, ``hosts``, ``progress``, ``versions``: Masakari's v1 API
  (notifications, their vmoves, segments and hosts on Nova aggregates, recovery progress, microversions) for
  masakari-monitors and its clients; ``inventory``: segments and hosts read from and written to Nova;
  ``bodies``, ``listing``: Masakari's request bodies, paging, sorting and filters;
- ``functions``, ``executions``, ``invoke``, ``sigv4``: the step table and intake as functions, through a
  Qinling-style executions API and AWS Lambda's Invoke API (boto3, SigV4 with Keystone EC2 credentials);
- ``webhooks``: signed URLs for Zaqar subscriptions (wake-ups) and Aodh alarm actions (VM notifications);
- ``auth``: Keystone tokens through keystonemiddleware, EC2 signatures checked by Keystone; ``policy``: who may
  call each route (oslo.policy, the rules of ``vmha.policies``); ``audit``: the calls that change state, in
  the journal;
- ``metrics``: Prometheus metrics; ``web``: plumbing.

WebOb, not a framework: keystonemiddleware already brings it and speaks it, it parses requests and builds
responses correctly, and the routing the API needs is one table of regular expressions (``app.routes``).
"""

from vmha.api.app import App, Parts
from vmha.api.auth import keystone_filter
from vmha.api.functions import Functions
from vmha.api.metrics import Metrics
from vmha.api.server import ApiServer
from vmha.api.webhooks import AODH_PATH, ZAQAR_PATH, signed_url

__all__ = ["AODH_PATH", "ZAQAR_PATH", "ApiServer", "App", "Functions", "Metrics", "Parts", "keystone_filter",
           "signed_url"]

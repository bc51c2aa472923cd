"""A vmha webhook step receiver in the standard library only (templates/custom_step_call.schema.json).

It checks the call's signature and age, makes its side effect once per Idempotency-Key (a redelivered call
gets the first answer again), and signs its answer over '<timestamp>\\n<idempotency key>\\n<body>'.
Run: VMHA_WEBHOOK_SECRET=... python3 webhook_receiver.py 127.0.0.1 8099; replace effect() with your own.
"""

import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SECRET = os.environ.get("VMHA_WEBHOOK_SECRET", "").encode()
MAX_AGE = 300
answers: dict[str, bytes] = {}  # idempotency key -> the answer given: the side effect is made once


def sign(*parts: bytes) -> str:
    return hmac.new(SECRET, b"\n".join(parts), hashlib.sha256).hexdigest()


def effect(call: dict[str, Any]) -> dict[str, Any]:
    """The site's own work (open a ticket, move a floating IP...); its result is recorded by vmha."""
    print("webhook step", call["step"], "for", call["instance_uuid"] or call["notification"]["hostname"], flush=True)
    return {"done_at": int(time.time())}


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        stamp, key = self.headers.get("X-Vmha-Timestamp", "0"), self.headers.get("Idempotency-Key", "")
        good = hmac.compare_digest(sign(stamp.encode(), body), self.headers.get("X-Vmha-Signature", ""))
        if not good or abs(time.time() - int(stamp)) > MAX_AGE:
            return self.answer(401, b'{"error": "bad or late signature"}', key)
        if key not in answers:
            answers[key] = json.dumps({"result": effect(json.loads(body))}).encode()
        self.answer(200, answers[key], key)

    def answer(self, status: int, body: bytes, key: str) -> None:
        stamp = str(int(time.time()))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Vmha-Timestamp", stamp)
        self.send_header("X-Vmha-Signature", sign(stamp.encode(), key.encode(), body))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), Receiver).serve_forever()

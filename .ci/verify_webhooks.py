"""Checks that the Standard Webhooks reference library for Python verifies holdfast's deliveries.

Runs a receiver on a free loopback port, configures it as a webhook endpoint of a running
holdfast (started with --webhook-allow-private), makes three changes, and verifies each delivery
with standardwebhooks' Webhook.verify, with the secret the PUT answered. Exits non-zero, saying
why, when a delivery does not verify, an event is missing or they come out of order.

Usage: python verify_webhooks.py BASE_URL (named apart from the package it imports)
"""

import http.server
import json
import sys
import threading
import time
import urllib.request

from standardwebhooks.webhooks import Webhook

base = sys.argv[1]
received = []


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        received.append((dict(self.headers.items()), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=receiver.serve_forever, daemon=True).start()


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("content-type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read() or b"null")


url = f"http://127.0.0.1:{receiver.server_address[1]}/hooks"
endpoint = call("PUT", "/v1/companies/pyco/webhooks/app", {"url": url})
secret = endpoint["secret"]
hold = call("POST", "/v1/companies/pyco/holds", {
    "resource": "chair", "start": "2030-01-07T09:00:00Z", "end": "2030-01-07T09:30:00Z"})
call("POST", f"/v1/companies/pyco/holds/{hold['token']}/confirm", {"appointment_id": "A-1"})
call("DELETE", f"/v1/companies/pyco/holds/{hold['token']}")

deadline = time.monotonic() + 30
while len(received) < 3 and time.monotonic() < deadline:
    time.sleep(0.05)
if len(received) < 3:
    sys.exit(f"expected 3 deliveries, got {len(received)}")

webhook = Webhook(secret)
kinds = []
for headers, body in received:
    event = webhook.verify(body, headers)  # raises WebhookVerificationError when it fails
    if headers["webhook-id"] != event["id"]:
        sys.exit(f"webhook-id {headers['webhook-id']} is not the event's id {event['id']}")
    kinds.append((event["seq"], event["type"]))
expected = [(1, "reservation.created"), (2, "reservation.converted"), (3, "reservation.cancelled")]
if kinds != expected:
    sys.exit(f"deliveries {kinds}, expected {expected}")
print(f"standardwebhooks verified {len(kinds)} deliveries: {kinds}")

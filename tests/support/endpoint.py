"""A local HTTP endpoint for Apprise's `json://` URLs: records what is POSTed."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Endpoint:
    """An HTTP server on 127.0.0.1 that records what is POSTed and answers `status`;
    with `failing` (a share, 0 to 1), a random share of the POSTs answers 500 instead.
    `accepted` keeps those answered 200; with `hold`, it answers only once `release` is
    set (a slow service). `on_accept`, if set, is called with each POST answered 200
    and the client's port, in the thread serving it (the client is still connected)."""

    def __init__(self, failing: float = 0.0, seed: int = 0) -> None:
        self.received: list[dict] = []
        self.accepted: list[dict] = []
        self.status = 200
        self.failing = failing
        self.hold = False  # answer only once `release` is set (a slow service)
        self.release = threading.Event()
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.on_accept: Callable[[dict, int], None] | None = None
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                try:
                    body = json.loads(self.rfile.read(length))
                except ValueError:  # a client killed mid-request: nothing received
                    self.send_response(400)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                with endpoint.lock:
                    status = (500 if endpoint.failing and endpoint.rng.random() < endpoint.failing
                              else endpoint.status)
                    endpoint.received.append(body)
                    if status == 200:
                        endpoint.accepted.append(body)
                        if endpoint.on_accept is not None:
                            endpoint.on_accept(body, self.client_address[1])
                if endpoint.hold:
                    endpoint.release.wait(30)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=30)

"""Read-only JSON status endpoint on 127.0.0.1 for a dashboard (stdlib ``http.server`` in a
daemon thread). GET only: ``/status`` (everything), ``/risk``, ``/positions``, ``/orders``,
``/state``, ``/alerts``. The payload comes from a callable that returns a JSON-ready dict, so
the server never touches the engine from its own thread beyond that call."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SECTIONS = ("risk", "positions", "orders", "state", "alerts")


class StatusEndpoint:
    def __init__(self, status: Callable[[], dict[str, Any]], port: int = 0):
        self.status = status
        self.port = port
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> StatusEndpoint:
        source = self.status

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                path = self.path.split("?", 1)[0].strip("/") or "status"
                try:
                    payload = source()
                    if path != "status":
                        if path not in SECTIONS:
                            return self._send(404, {"error": f"unknown path /{path}",
                                                    "paths": ["/status"] + [
                                                        f"/{s}" for s in SECTIONS]})
                        payload = {path: payload.get(path)}
                    self._send(200, payload)
                except Exception as exc:  # noqa: BLE001 - the endpoint must not die
                    self._send(500, {"error": type(exc).__name__})

            def do_POST(self) -> None:  # noqa: N802 - read-only
                self._send(405, {"error": "read-only endpoint"})

            do_PUT = do_DELETE = do_POST  # noqa: N815

            def _send(self, code: int, payload: dict) -> None:
                body = json.dumps(payload, default=str).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True,
                         name="qlab-status-endpoint").start()
        return self

    @property
    def url(self) -> str:
        assert self._server is not None, "endpoint not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

"""A service's HTTP endpoint on its metrics port: Prometheus `/metrics`, liveness
`/health/live` (the process answers) and readiness `/health/ready` (200 only when the service
says so: its consumers are assigned and its database answers; 503 otherwise). Served by the
standard library's WSGI server in a thread; readiness is asked of the service's event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

READY_TIMEOUT_SECONDS = 5.0

Ready = Callable[[], Coroutine[Any, Any, bool]]
StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Probes every few seconds are not worth a log line."""


def serve(host: str, port: int, registry: CollectorRegistry, ready: Ready) -> WSGIServer:
    """Start serving in a daemon thread (from the service's event loop); `shutdown()` stops it."""
    loop = asyncio.get_running_loop()
    metrics = make_wsgi_app(registry)

    def answer(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path == "/health/live":
            return _text(start_response, "200 OK", "live")
        if path == "/health/ready":
            try:
                ok = asyncio.run_coroutine_threadsafe(ready(), loop).result(READY_TIMEOUT_SECONDS)
            except Exception:  # a readiness check that fails or hangs is "not ready"
                ok = False
            if ok:
                return _text(start_response, "200 OK", "ready")
            return _text(start_response, "503 Service Unavailable", "not ready")
        return metrics(environ, start_response)  # type: ignore[no-any-return]

    server = make_server(host, port, answer, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    return server


def _text(start_response: StartResponse, status: str, text: str) -> list[bytes]:
    body = f"{text}\n".encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]

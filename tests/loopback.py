"""A small HTTP server on 127.0.0.1 for tests: real files, errors, stalls, truncation.

Routes map a URL path to a :class:`Route`. Range requests are honoured so real clients
(yt-dlp, urllib) behave as they would against a CDN.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/octet-stream"
    stall: float = 0.0  # seconds to sleep before answering (past a client's timeout)
    truncate_to: int | None = None  # send only this many bytes, announce the full length
    headers: dict[str, str] = field(default_factory=dict)
    unsized: int = 0  # send this many bytes (the body repeated) with no length announced

    @classmethod
    def file(cls, path: Path, content_type: str, **kw) -> Route:
        return cls(body=Path(path).read_bytes(), content_type=content_type, **kw)


class LoopbackServer:
    """``with LoopbackServer() as srv: srv.routes["/a.ogg"] = Route(...); srv.url("/a.ogg")``."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: dict[str, int] = {}
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def _answer(self, head_only: bool) -> None:
                path = self.path.split("?", 1)[0]
                with server._lock:
                    server.hits[path] = server.hits.get(path, 0) + 1
                route = server.routes.get(path)
                if route is None:
                    route = Route(body=b"not found", status=404, content_type="text/plain")
                if route.stall:
                    time.sleep(route.stall)
                body = route.body
                status = route.status
                start, end = 0, len(body)
                rng = self.headers.get("Range")
                m = re.match(r"bytes=(\d*)-(\d*)$", rng or "")
                if m and status == 200 and body:
                    start = int(m.group(1) or 0)
                    end = int(m.group(2)) + 1 if m.group(2) else len(body)
                    end = min(end, len(body))
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    status = 206
                if route.unsized:
                    self._unsized(route)
                    return
                self.send_response(status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Accept-Ranges", "bytes")
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(body)}")
                self.send_header("Content-Length", str(end - start))
                for k, v in route.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                if head_only:
                    return
                payload = body[start:end]
                if route.truncate_to is not None:
                    payload = payload[: route.truncate_to]
                    self.close_connection = True
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _unsized(self, route: Route) -> None:
                self.send_response(200)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                unit = route.body or b"\0"
                block = unit * max(1, 65536 // len(unit))
                try:
                    for _ in range(0, route.unsized, len(block)):
                        self.wfile.write(block)
                except (BrokenPipeError, ConnectionResetError, OSError):
                    pass

            def do_GET(self) -> None:
                self._answer(False)

            def do_HEAD(self) -> None:
                self._answer(True)

        ThreadingHTTPServer.request_queue_size = 64  # many parallel clients in some tests
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda *a: None  # clients hanging up early is normal
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}{path}"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

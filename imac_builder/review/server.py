"""``imac-build review --serve``: the page on 127.0.0.1, and decisions written straight to
``search/overrides.csv`` under the work directory's lock.

A small :mod:`http.server` (standard library): it answers only requests whose ``Host`` (and
``Origin``, when sent) name this loopback address and port, so a web page elsewhere cannot
reach it through DNS rebinding, and accepts decisions only with the per-run token written
into the page. The posted JSON is checked strictly: known track ids, YouTube video ids (11
characters of ``[A-Za-z0-9_-]``) or ``skip``, short notes, a size limit.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .. import tables as T
from ..errors import UserError
from ..guard import has_control, has_surrogates
from ..vocab import YOUTUBE_ID, is_track_id
from ..workdir import Workdir
from .page import PAGE, write_review

log = logging.getLogger(__name__)

#: Largest request body accepted (10,000 decisions are about 700 kB).
MAX_BODY = 2_000_000
MAX_NOTE = 300
#: Seconds a connection may stay silent (a stuck browser tab, a half-sent request)
#: before it is closed; each connection has its own thread, so it blocks nobody else.
IDLE_TIMEOUT = 10


class Refused(Exception):
    """A request that is not accepted: its HTTP status and one line."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("a key appears twice")
    return dict(pairs)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_decisions(body: bytes, token: str, known: set[str]) -> list[tuple[str, str | None, str]]:
    """The decisions of a posted body: (track id, video id / ``skip`` / None to remove the
    row, note). Raises :class:`Refused` for anything else."""
    bad = HTTPStatus.BAD_REQUEST
    try:
        doc = json.loads(body.decode("utf-8"), object_pairs_hook=_no_duplicates,
                         parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise Refused(bad, f"the body is not strict JSON ({str(e)[:80]})") from None
    if has_surrogates(doc):  # "\ud800" is valid JSON but no text (not writable as UTF-8)
        raise Refused(bad, "the body is not strict JSON (a string holds a lone surrogate)")
    if not isinstance(doc, dict) or set(doc) != {"token", "decisions"}:
        raise Refused(bad, "the body must be an object with exactly 'token' and 'decisions'")
    if not isinstance(doc["token"], str) or not hmac.compare_digest(
            doc["token"].encode(), token.encode()):
        raise Refused(HTTPStatus.FORBIDDEN, "wrong token: reload the page this server serves")
    items = doc["decisions"]
    if not isinstance(items, list) or not items or len(items) > len(known):
        raise Refused(bad, "'decisions' must be a list of 1 to one per song")
    out: list[tuple[str, str | None, str]] = []
    seen: set[str] = set()
    for n, d in enumerate(items):
        if not isinstance(d, dict) or not {"track_id", "video_id"} <= set(d) <= \
                {"track_id", "video_id", "note"}:
            raise Refused(bad, f"decision {n}: needs track_id, video_id and optionally note")
        tid, vid, note = d["track_id"], d["video_id"], d.get("note", "")
        if not isinstance(tid, str) or tid not in known:
            raise Refused(bad, f"decision {n}: track_id is not a song of this work directory")
        if tid in seen:
            raise Refused(bad, f"decision {n}: {tid} decided twice")
        seen.add(tid)
        if vid is not None and not (isinstance(vid, str) and (
                vid == "skip" or YOUTUBE_ID.fullmatch(vid))):
            raise Refused(bad, f"decision {n}: video_id must be 11 characters of "
                               "[A-Za-z0-9_-], 'skip' or null")
        if not isinstance(note, str) or len(note) > MAX_NOTE or has_control(note):
            raise Refused(bad, f"decision {n}: note must be text of at most {MAX_NOTE} "
                               "characters on one line, without control or bidi characters")
        out.append((tid, vid, note.strip()))
    return out


def save_decisions(workdir: Workdir, decisions: list[tuple[str, str | None, str]]
                   ) -> dict[str, tuple[str, str]]:
    """Merge decisions into ``search/overrides.csv`` under the work directory's lock and
    return every override now in it (a bad existing row or a busy lock: UserError)."""
    from ..guard import check_not_link
    from ..search.stage import read_overrides

    with workdir.lock("review --serve: saving search/overrides.csv"):
        check_not_link(T.OVERRIDES.at(workdir.root))  # a link out is refused, not replaced
        rows = read_overrides(workdir.root)
        for tid, vid, note in decisions:
            if vid is None:
                rows.pop(tid, None)
            else:
                rows[tid] = (vid, note)
        T.write_table(workdir.root, T.OVERRIDES,
                      [(t, v, n) for t, (v, n) in sorted(rows.items())])
    log.info("review --serve: saved %d decisions to %s", len(decisions),
             T.OVERRIDES.at(workdir.root))
    return rows


class ReviewServer(ThreadingHTTPServer):
    """The page and its decisions, on 127.0.0.1 only: one thread per connection (an idle
    one blocks nobody), every write to the work directory under one lock."""

    daemon_threads = True

    def __init__(self, workdir: Workdir | Path, port: int = 0, *, jobs: int = 0) -> None:
        self.workdir = workdir if isinstance(workdir, Workdir) else Workdir(Path(workdir))
        self.token = secrets.token_urlsafe(24)
        self.jobs = jobs
        self.summary = write_review(self.workdir, token=self.token, jobs=jobs)
        self._stamp = self._overrides_stamp()
        self._known: set[str] | None = None
        self._lock = threading.Lock()
        try:
            super().__init__(("127.0.0.1", port), _Handler)
        except OSError as e:
            raise UserError(f"cannot serve on 127.0.0.1:{port} ({e.strerror}): give another "
                            "port (--serve PORT) or 0 for a free one") from None
        self.port = self.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.summary.url = self.url
        self.hosts = {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}
        self.origins = {f"http://{h}" for h in self.hosts}

    def to_dict(self) -> dict:
        return self.summary.to_dict()

    def lines(self) -> list[str]:
        return self.summary.lines()

    def _overrides_stamp(self) -> tuple[int, int] | None:
        try:
            st = T.OVERRIDES.at(self.workdir.root).stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def known(self) -> set[str]:
        with self._lock:
            if self._known is None:
                rows = T.read_table(self.workdir.root, T.SONGS, required=("track_id",))
                self._known = {r["track_id"].strip() for r in rows
                               if is_track_id(r["track_id"].strip())}
            return self._known

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection that failed (closed, timed out) is logged, never a traceback on
        the terminal."""
        import sys

        log.warning("review --serve: a connection from %s failed (%s)", client_address,
                    sys.exc_info()[1].__class__.__name__, exc_info=True)

    def page(self) -> bytes:
        """The page, written again when ``overrides.csv`` changed since (a reload shows
        what is saved)."""
        with self._lock:
            stamp = self._overrides_stamp()
            if stamp != self._stamp:
                write_review(self.workdir, token=self.token, jobs=self.jobs)
                self._stamp = stamp
            return (self.workdir.root / PAGE).read_bytes()


class _Handler(BaseHTTPRequestHandler):
    server: ReviewServer
    server_version = "imac-build-review"
    sys_version = ""
    timeout = IDLE_TIMEOUT  # set on the socket: a silent client is dropped

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        log.info("review --serve: " + format, *args)

    def _send(self, status: HTTPStatus, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: HTTPStatus, doc: dict) -> None:
        self._send(status, json.dumps(doc).encode(), "application/json")

    def _check_host(self) -> None:
        if self.headers.get("Host", "") not in self.server.hosts:
            raise Refused(HTTPStatus.MISDIRECTED_REQUEST,
                          "this server answers only to 127.0.0.1 or localhost on its port")

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        try:
            self._check_host()
            if self.path not in ("/", "/index.html"):
                raise Refused(HTTPStatus.NOT_FOUND, "not found")
            self._send(HTTPStatus.OK, self.server.page(), "text/html; charset=utf-8")
        except Refused as e:
            self._send(e.status, str(e).encode(), "text/plain; charset=utf-8")
        except UserError as e:
            self._send(HTTPStatus.CONFLICT, str(e).encode(), "text/plain; charset=utf-8")

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        try:
            self._check_host()
            if self.path != "/overrides":
                raise Refused(HTTPStatus.NOT_FOUND, "not found")
            if self.headers.get("Origin") not in self.server.origins:
                raise Refused(HTTPStatus.FORBIDDEN, "decisions are accepted only from the "
                                                    "page this server serves")
            if self.headers.get("Sec-Fetch-Site", "same-origin") != "same-origin":
                raise Refused(HTTPStatus.FORBIDDEN, "cross-site request refused")
            ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if ctype != "application/json":
                raise Refused(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send application/json")
            try:
                size = int(self.headers.get("Content-Length", ""))
            except ValueError:
                raise Refused(HTTPStatus.LENGTH_REQUIRED, "Content-Length needed") from None
            if not 0 < size <= MAX_BODY:
                raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                              f"a body of 1 to {MAX_BODY:,} bytes is accepted")
            try:
                body = self.rfile.read(size)
            except TimeoutError:
                raise Refused(HTTPStatus.REQUEST_TIMEOUT, f"the body did not arrive within "
                                                          f"{IDLE_TIMEOUT} s") from None
            if len(body) != size:
                raise Refused(HTTPStatus.BAD_REQUEST, "the body is shorter than its "
                                                      "Content-Length")
            decisions = parse_decisions(body, self.server.token, self.server.known())
            with self.server._lock:
                rows = save_decisions(self.server.workdir, decisions)
                self.server._stamp = None  # the next GET writes the page again
            path = T.OVERRIDES.at(self.server.workdir.root)
            self._json(HTTPStatus.OK, {
                "ok": True, "saved": len(decisions),
                "overrides": {t: list(v) for t, v in rows.items()},
                "message": f"saved {len(decisions)} decision(s) to {path} ({len(rows)} rows); "
                           "run imac-build search --rerank to apply them"})
        except Refused as e:
            self._json(e.status, {"ok": False, "error": str(e)})
        except UserError as e:
            self._json(HTTPStatus.CONFLICT, {"ok": False, "error": str(e)})

    def do_PUT(self) -> None:  # noqa: N802
        self._json(HTTPStatus.METHOD_NOT_ALLOWED, {"ok": False, "error": "GET or POST only"})

    do_DELETE = do_PUT
    do_PATCH = do_PUT

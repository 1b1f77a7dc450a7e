"""The ``api`` backend: YouTube Data API v3 through google-api-python-client.

One ``search.list`` per page of results (type video, Music category), then one
``videos.list`` per 50 candidates for their durations. Units are recorded in the
:class:`~imac_builder.search.quota.QuotaLedger`. The API key is never printed, logged or
written: errors are described from their status and reason only (an ``HttpError``'s text
holds the request URL, key included), and a filter masks the key in the client
library's own debug log lines.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import socket
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..vocab import is_youtube_id, watch_url
from .backend import Backoff, QuotaStop, SearchError
from .match import Candidate
from .quota import COSTS, QuotaLedger
from .registry import BackendContext

log = logging.getLogger(__name__)

KEY_ENV = "YOUTUBE_API_KEY"
MUSIC_CATEGORY = "10"
_ISO = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
_QUOTA_REASONS = {"quotaExceeded", "dailyLimitExceeded"}
_KEY_REASONS = {"keyInvalid", "API_KEY_INVALID", "keyExpired", "API_KEY_EXPIRED"}
_RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "backendError",
                 "RATE_LIMIT_EXCEEDED"}
_CLIENT_LOGGERS = ("googleapiclient.discovery", "googleapiclient.http",
                   "googleapiclient.discovery_cache")


def parse_duration(iso: str | None) -> float | None:
    """ISO-8601 duration to seconds: ``PT3M59S`` -> 239, ``P0D`` (live) -> 0."""
    if not iso:
        return None
    m = _ISO.match(iso.strip())
    if not m or iso.strip() in ("P", "PT"):
        return None
    w, d, h, mi, s = m.groups()
    return (int(w or 0) * 7 * 86400 + int(d or 0) * 86400 + int(h or 0) * 3600
            + int(mi or 0) * 60 + float(s or 0))


def read_api_key(api_key_file: Path | None = None) -> str:
    """The key from ``api_key_file`` if given, else from ``$YOUTUBE_API_KEY``."""
    if api_key_file is not None:
        try:
            from ..guard import read_text  # a FIFO or /dev/zero: refused, not read

            key = read_text(api_key_file, "an API key file", 4096).strip()
        except OSError as e:
            raise UserError(f"cannot read the API key file {api_key_file}: "
                            f"{type(e).__name__}") from None
        if not key:
            raise UserError(f"the API key file {api_key_file} is empty")
    else:
        key = os.environ.get(KEY_ENV, "").strip()
        if not key:
            raise UserError(f"no YouTube API key: set {KEY_ENV} or pass --api-key-file "
                            "(or use --backend ytdlp, which needs none)")
    if any(c.isspace() for c in key):
        raise UserError("the YouTube API key contains spaces or several lines; "
                        "give the key alone")
    return key


class _Redact(logging.Filter):
    """Masks the key in log records of the client library (its debug lines hold URLs)."""

    def __init__(self, secret: str):
        super().__init__()
        self._secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # a malformed record: leave it to logging
            return True
        if self._secret in msg:
            record.msg, record.args = msg.replace(self._secret, "<redacted>"), None
        return True


def _error_reasons(e: Any) -> tuple[set[str], str]:
    """Every ``reason`` code in an HttpError's body, and its message."""
    reasons: set[str] = set()
    message = ""
    try:
        doc = json.loads(e.content.decode("utf-8"))
        err = doc.get("error", {}) if isinstance(doc, dict) else {}
        message = str(err.get("message", ""))
        for key in ("errors", "details"):
            for item in err.get(key, []) or []:
                if isinstance(item, dict) and item.get("reason"):
                    reasons.add(str(item["reason"]))
    except (ValueError, AttributeError, UnicodeDecodeError):
        pass
    details = getattr(e, "error_details", None)
    if isinstance(details, list):
        reasons.update(str(d["reason"]) for d in details
                       if isinstance(d, dict) and d.get("reason"))
    return reasons, message


class ApiBackend:
    """Search through the YouTube Data API v3; tests pass an ``HttpMockSequence``."""

    name = "api"
    uses_quota = True

    def __init__(self, key: str, ledger: QuotaLedger, results: int = 10,
                 http: Any = None, backoff: Backoff | None = None):
        from googleapiclient.discovery import build

        self._key = key
        self._redact = _Redact(key)
        for name in _CLIENT_LOGGERS:
            logging.getLogger(name).addFilter(self._redact)
        self.ledger = ledger
        self.results = max(1, int(results))
        self.backoff = backoff or Backoff()
        self._yt = build("youtube", "v3", developerKey=key, static_discovery=True,
                         http=http, cache_discovery=False)

    def close(self) -> None:
        for name in _CLIENT_LOGGERS:
            logging.getLogger(name).removeFilter(self._redact)

    def units_per_search(self) -> int:
        pages = math.ceil(self.results / 50)
        return pages * COSTS["search.list"] + pages * COSTS["videos.list"]

    def _execute(self, request: Any, method: str) -> dict:
        """Run one request with retries; record its units; map errors to ours."""
        from googleapiclient.errors import HttpError

        def transient(e: BaseException) -> str | None:
            if isinstance(e, HttpError):
                status = int(e.resp.status)
                reasons, _ = _error_reasons(e)
                if status >= 500 or status == 429 or (status == 403 and reasons & _RATE_REASONS):
                    return f"HTTP {status} {'/'.join(sorted(reasons)) or 'error'}"
                return None
            if isinstance(e, TimeoutError | socket.timeout | ConnectionError):
                return f"network: {type(e).__name__}"
            try:
                import httplib2
            except ImportError:  # pragma: no cover - a dependency of the client
                return None
            if isinstance(e, httplib2.HttpLib2Error):
                return f"network: {type(e).__name__}"
            return None

        try:
            result = self.backoff.run(lambda: request.execute(num_retries=0), transient,
                                      method)
        except HttpError as e:
            status = int(e.resp.status)
            reasons, message = _error_reasons(e)
            if reasons & _QUOTA_REASONS:
                self.ledger.mark_exhausted()
                raise QuotaStop("the YouTube API answered quotaExceeded") from None
            if reasons & _KEY_REASONS or (status == 400 and "api key" in message.lower()):
                raise UserError(f"the YouTube API refused the key ({'/'.join(sorted(reasons))}"
                                f"): check {KEY_ENV} or --api-key-file") from None
            if reasons & {"accessNotConfigured", "SERVICE_DISABLED", "ipRefererBlocked",
                          "forbidden"}:
                raise UserError(f"the YouTube API refused access ({'/'.join(sorted(reasons))})"
                                ": enable the YouTube Data API v3 for the key's project "
                                "and check the key's restrictions") from None
            raise SearchError(f"HTTP {status} {'/'.join(sorted(reasons)) or 'error'}") from None
        self.ledger.spend(method)
        return result

    def search(self, query: str) -> list[Candidate]:
        """``results`` candidates for ``query``, in the API's order, with durations."""
        found: list[dict] = []
        seen: set[str] = set()
        token: str | None = None
        while len(found) < self.results:
            if not self.ledger.can_spend(COSTS["search.list"]):
                if not found:
                    raise QuotaStop("the daily budget is reached")
                break
            kwargs: dict[str, Any] = dict(part="snippet", q=query, type="video",
                                          videoCategoryId=MUSIC_CATEGORY,
                                          maxResults=min(50, self.results - len(found)))
            if token:
                kwargs["pageToken"] = token
            try:
                resp = self._execute(self._yt.search().list(**kwargs), "search.list")
            except QuotaStop as stop:
                stop.partial = self._finish(found, durations=False)
                raise
            items = resp.get("items") or []
            for it in items:
                vid = (it.get("id") or {}).get("videoId")
                if not is_youtube_id(vid) or vid in seen:
                    continue
                seen.add(vid)
                sn = it.get("snippet") or {}
                found.append({"video_id": vid, "title": sn.get("title", ""),
                              "channel_title": sn.get("channelTitle", "")})
            token = resp.get("nextPageToken")
            if not token or not items:
                break
        return self._finish(found[: self.results], durations=True)

    def _finish(self, found: list[dict], durations: bool) -> list[Candidate]:
        """Add durations (``videos.list``, 50 ids a call) and make candidates."""
        got: dict[str, float | None] = {}
        if durations:
            for i in range(0, len(found), 50):
                ids = [f["video_id"] for f in found[i:i + 50]]
                if not self.ledger.can_spend(COSTS["videos.list"]):
                    break
                try:
                    resp = self._execute(self._yt.videos().list(
                        part="contentDetails", id=",".join(ids), maxResults=50),
                        "videos.list")
                except (QuotaStop, SearchError) as e:
                    log.warning("durations not fetched: %s", e)
                    break
                for it in resp.get("items") or []:
                    got[str(it.get("id"))] = parse_duration(
                        (it.get("contentDetails") or {}).get("duration"))
        return [Candidate(video_id=f["video_id"], title=_unescape(f["title"]),
                          channel_title=_unescape(f["channel_title"]),
                          duration=got.get(f["video_id"]), rank=i,
                          url=watch_url(f["video_id"])) for i, f in enumerate(found)]


def _unescape(text: str) -> str:
    """search.list snippets are HTML-escaped ("&amp;", "&#39;")."""
    import html

    return html.unescape(text or "")


def make(ctx: BackendContext) -> ApiBackend:
    """The registry's factory (:mod:`.registry`): the key from ``ctx.api_key_file`` or
    ``$YOUTUBE_API_KEY``."""
    return ApiBackend(read_api_key(ctx.api_key_file), ctx.ledger, ctx.results, http=ctx.http,
                      backoff=ctx.backoff)

"""Sort a failed download into a ledger status with a reason a person can act on."""

from __future__ import annotations

import errno
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass

from .decode import DecodeError, TooShort

#: Every ledger status, success first.
STATUSES = ("ok", "unavailable", "blocked", "rate_limited", "network", "invalid_media",
            "too_short", "error")
#: Failures that another try cannot fix: never retried, not even with --retry-failed.
PERMANENT = frozenset({"unavailable", "invalid_media", "too_short"})

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_MAX_DETAIL = 240


@dataclass(frozen=True)
class Failure:
    """A ledger status and the reason written beside it."""

    status: str
    reason: str


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps (yt-dlp's exc_info, cause, context)."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        e = todo.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        info = getattr(e, "exc_info", None)
        if isinstance(info, tuple) and len(info) > 1 and isinstance(info[1], BaseException):
            todo.append(info[1])
        for attr in ("cause", "__cause__", "__context__"):
            nxt = getattr(e, attr, None)
            if isinstance(nxt, BaseException):
                todo.append(nxt)


def disk_full(exc: BaseException) -> bool:
    """Whether a full disk caused ``exc`` (the run must stop, not record a song failure)."""
    return any(isinstance(e, OSError) and e.errno == errno.ENOSPC for e in _chain(exc))


def clean_message(exc: BaseException) -> str:
    """One short line from an exception message (no colour codes, no 'ERROR:' prefix)."""
    text = _ANSI.sub("", str(exc)).replace("\r", " ")
    text = re.sub(r"^\s*ERROR:\s*", "", text)
    text = " ".join(text.split())
    if not text:
        text = type(exc).__name__
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


def _http_status(chain: list[BaseException]) -> int | None:
    for e in chain:
        for attr in ("status", "code"):
            v = getattr(e, attr, None)
            if isinstance(v, int) and 100 <= v <= 599:
                return v
    return None


def _rules(*spec: tuple[str, str, str]) -> tuple[tuple[str, re.Pattern[str], str], ...]:
    return tuple((status, re.compile(pattern, re.I), advice) for status, pattern, advice in spec)


#: Site messages, checked in order before the HTTP status (YouTube's wording first).
_SITE_RULES = _rules(
    ("rate_limited", r"too many requests|try again later|rate.?limit",
     "rate limited by the site: wait, raise --sleep, pass --cookies or --proxy, then rerun "
     "with --retry-failed"),
    ("blocked", r"not a bot|confirm you.?re not",
     "bot check (sign-in required): pass --cookies from a logged-in browser, raise --sleep, "
     "then rerun with --retry-failed"),
    ("blocked", r"confirm your age|age.?restrict|inappropriate for some users",
     "age-restricted: pass --cookies of a signed-in adult account, then rerun with "
     "--retry-failed"),
    ("blocked", r"in your country|geo.?restrict|from your location",
     "blocked in this country: rerun with --proxy in another region and --retry-failed"),
    ("unavailable", r"private video|video is private",
     "video is private: pick another video for this song in search/matches.csv"),
    ("unavailable", r"copyright",
     "removed for copyright: pick another video for this song in search/matches.csv"),
    ("unavailable", r"account .*(terminated|closed|deleted)|channel .*terminated",
     "uploader's account deleted: pick another video in search/matches.csv"),
    ("blocked", r"members.?only|join this channel|sign in|log ?in required|premium",
     "needs a signed-in account: pass --cookies, then rerun with --retry-failed"),
)
#: Checked after the HTTP status.
_LATE_RULES = _rules(
    ("network", r"did not get any data blocks",
     "the server sent no data (an empty file): rerun later with --retry-failed; if it "
     "persists, pick another video in search/matches.csv"),
    ("invalid_media", r"extension .* is unusual",
     "yt-dlp refuses the file's unusual extension (not a media URL): pick another video "
     "in search/matches.csv"),
    ("invalid_media", r"unsupported url|no video formats|requested format is not "
                      r"available|no audio",
     "not a media file or no audio stream: pick another video in search/matches.csv"),
    ("unavailable", r"video unavailable|been removed|no longer available|does not exist|"
                    r"isn.?t available|not available|not found",
     "video removed or missing: pick another video in search/matches.csv"),
    ("network", r"timed? ?out|connection (refused|reset|aborted)|bytes read.*more expected|"
                r"incomplete|name resolution|unreachable|unable to download|"
                r"remote end closed|eof occurred|ssl",
     "network failure: check the connection (or --proxy, --socket-timeout), then rerun "
     "with --retry-failed"),
)


def classify(exc: BaseException) -> Failure:
    """Map any exception from fetching or decoding a song to a :class:`Failure`."""
    chain = list(_chain(exc))
    detail = clean_message(exc)
    for e in chain:
        if isinstance(e, TooShort):
            return Failure("too_short", f"audio is {e.seconds:.1f} s, under the 60 s of one "
                                        "segment: pick a longer video in search/matches.csv")
        if isinstance(e, DecodeError):
            return Failure("invalid_media", f"ffmpeg cannot decode the download ({detail}): "
                                            "not audio, or corrupt; pick another video")
    status = _http_status(chain)
    if status == 429:
        return Failure("rate_limited", "HTTP 429 Too Many Requests: rate limited by the site: "
                       f"wait, raise --sleep, pass --cookies or --proxy, then rerun with "
                       f"--retry-failed ({detail})")
    names = {type(e).__name__ for e in chain}
    if "GeoRestrictedError" in names:
        return Failure("blocked", "blocked in this country: rerun with --proxy in another "
                                  f"region and --retry-failed ({detail})")
    text = " | ".join(clean_message(e) for e in chain)
    for rule_status, pattern, advice in _SITE_RULES:
        if pattern.search(text):
            return Failure(rule_status, f"{advice} ({detail})")
    if status == 403:
        return Failure("blocked", "HTTP 403 Forbidden: the host refuses this client or the "
                       "link expired: try --cookies or --proxy, then rerun with "
                       f"--retry-failed ({detail})")
    if status in (404, 410):
        return Failure("unavailable", f"HTTP {status}: the video or file is gone: pick "
                       f"another video for this song in search/matches.csv ({detail})")
    if "UnsupportedError" in names:
        return Failure("invalid_media", "the URL is a web page without playable media: pick "
                       f"another video in search/matches.csv ({detail})")
    for rule_status, pattern, advice in _LATE_RULES:
        if pattern.search(text):
            return Failure(rule_status, f"{advice} ({detail})")
    if status is not None and status >= 500:
        return Failure("network", f"HTTP {status}: server error: rerun later with "
                                  f"--retry-failed ({detail})")
    network_types = {"TransportError", "ContentTooShortError", "IncompleteRead",
                     "ConnectionError", "ProxyError", "SSLError"}
    if names & network_types or any(isinstance(e, (TimeoutError, socket.timeout,
                                                   ConnectionError)) for e in chain):
        return Failure("network", "network failure: check the connection (or --proxy, "
                       f"--socket-timeout), then rerun with --retry-failed ({detail})")
    return Failure("error", f"unexpected failure ({type(exc).__name__}: {detail}): see "
                            "logs/imac-build.log; rerun with --retry-failed")

"""Sort a failed download into a ledger status with a reason a person can act on.

The patterns below come from the messages YouTube extraction really ends with, as the
installed yt-dlp (2026.10.26) raises or logs them; each rule cites where the text is
made (file under ``yt_dlp/``) or, for text YouTube itself sends (``playabilityStatus``
reasons, which ``extractor/youtube/_video.py`` passes on through ``raise_no_formats``),
that it is YouTube's. ``tests/test_download_classify.py`` checks each against the source.
"""

from __future__ import annotations

import errno
import re
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..vocab import DOWNLOAD_STATUSES
from .decode import DecodeError, TooShort
from .fetch import TooLarge

#: Every ledger status, success first (declared in :mod:`imac_builder.vocab`).
STATUSES = tuple(DOWNLOAD_STATUSES)
#: Failures that another try cannot fix: never retried, not even with --retry-failed.
PERMANENT = frozenset(w for w, s in DOWNLOAD_STATUSES.items() if w != "ok" and not s.retryable)
#: Failures ``download --retry-failed`` tries again.
RETRYABLE = frozenset(w for w, s in DOWNLOAD_STATUSES.items() if s.retryable)
#: One line of advice per failure status.
ADVICE = {w: s.advice for w, s in DOWNLOAD_STATUSES.items() if w != "ok"}

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_MAX_DETAIL = 240


def retry_class(status: str) -> str:
    """``"permanent"``, ``"retryable"`` or ``"done"`` (for ``ok``)."""
    if status == "ok":
        return "done"
    return "permanent" if status in PERMANENT else "retryable"


@dataclass(frozen=True)
class Failure:
    """A ledger status and the reason written beside it."""

    status: str
    reason: str

    @property
    def retryable(self) -> bool:
        """Whether ``--retry-failed`` tries this song again."""
        return self.status in RETRYABLE


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
    return tuple((status, re.compile(pattern, re.I), what) for status, pattern, what in spec)


#: Warnings yt-dlp logs before a YouTube download fails because this machine could not
#: solve the player's JavaScript challenge (checked in the warnings of the failed fetch).
_JS_WARNINGS = re.compile(
    # extractor/youtube/_video.py: "No supported JavaScript runtime could be found. ..."
    r"no supported javascript runtime could be found"
    # extractor/youtube/_video.py: "n challenge solving failed: Some formats may be missing"
    # and "Signature solving failed: Some formats may be missing"
    r"|(?:n challenge|signature) solving failed", re.I)
#: extractor/youtube/_video.py (_report_pot_format_skipped): "... formats require a GVS
#: PO Token which was not provided. They will be skipped as they may yield HTTP Error 403."
_POT_WARNINGS = re.compile(r"require a \w+ PO Token which was not provided", re.I)
#: YoutubeDL.py (process_video_result): "Requested format is not available. Use
#: --list-formats for a list of available formats"
_NO_FORMAT = re.compile(r"requested format is not available", re.I)

#: Site messages, checked in order before the HTTP status.
_SITE_RULES = _rules(
    # extractor/youtube/_video.py: "This content isn't available, try again later" gets
    # "... has been rate-limited by YouTube for up to an hour" appended
    ("rate_limited", r"try again later|rate.?limited|too many requests", "rate limited"),
    # YouTube's reason "Sign in to confirm you're not a bot" (+ the cookies hint of
    # extractor/common.py _login_hint: "Use --cookies-from-browser or --cookies ...")
    ("blocked", r"not a bot|confirm you.?re not", "bot check"),
    # YouTube's "Private video. Sign in if you've been granted access to this video"
    # (the test skip text 'Private video' in extractor/youtube/_video.py)
    ("unavailable", r"private video|video is private", "private video"),
    # YouTube's "Sign in to confirm your age. This video may be inappropriate for some
    # users." (extractor/youtube/_video.py _is_agegated: 'confirm your age',
    # 'age-restricted', 'inappropriate')
    ("blocked", r"confirm your age|age.?restricted|inappropriate for some users",
     "age-restricted (needs a signed-in adult account's cookies)"),
    # extractor/youtube/_video.py: 'The uploader has not made this video available in your
    # country' (raise_geo_restricted); extractor/common.py: 'This video is not available
    # from your location due to geo restriction'
    ("blocked", r"in your country|geo.?restrict|from your location", "blocked in this "
     "country (use --proxy in another region)"),
    # YouTube's "... no longer available due to a copyright claim by ..."
    ("unavailable", r"copyright", "removed for copyright"),
    # YouTube's "This video is no longer available because the YouTube account associated
    # with this video has been terminated."
    ("unavailable", r"account .*(terminated|closed|deleted)|channel .*terminated",
     "uploader's account terminated"),
    # YouTube's "Video unavailable. This video has been removed by the uploader";
    # extractor/youtube/_video.py test skip "This video has been removed for violating
    # YouTube's policy on hate speech."
    ("unavailable", r"removed by the uploader|has been removed|video has been removed",
     "removed"),
    # YouTube's "Join this channel to get access to members-only content like this video";
    # extractor/common.py raise_login_required: 'This video is only available for
    # registered users'
    ("blocked", r"members.?only|join this channel|registered users|sign in|premium",
     "needs a signed-in account"),
)
#: Checked after the HTTP status.
_LATE_RULES = _rules(
    ("network", r"did not get any data blocks", "the server sent no data (an empty file)"),
    ("invalid_media", r"extension .* is unusual",
     "yt-dlp refuses the file's unusual extension (not a media URL)"),
    ("invalid_media", r"unsupported url|no video formats|no audio",
     "not a media file or no audio stream"),
    # YouTube's "Video unavailable"; extractor/youtube/_video.py test skip "This video is
    # not available."
    ("unavailable", r"video unavailable|no longer available|does not exist|"
                    r"isn.?t available|is not available|not found",
     "video removed or missing"),
    ("network", r"timed? ?out|connection (refused|reset|aborted)|bytes read.*more expected|"
                r"incomplete|name resolution|unreachable|unable to download|"
                r"remote end closed|eof occurred|ssl", "network failure"),
)


def _fail(status: str, what: str, detail: str) -> Failure:
    return Failure(status, f"{what}: {ADVICE[status]} ({detail})")


def _is_youtube(chain: list[BaseException], text: str) -> bool:
    """Whether the failure is YouTube's: the extractor's name in the error or warnings
    (extractor/common.py report_warning writes ``[youtube] ID: ...``)."""
    ies = {str(getattr(e, "ie", "") or "").lower() for e in chain}
    return any(ie.startswith("youtube") for ie in ies) or "[youtube" in text.lower()


def classify(exc: BaseException, warnings: Iterable[str] = (),
             js_runtime: bool | None = None) -> Failure:
    """Map any exception from fetching or decoding a song to a :class:`Failure`.

    ``warnings`` are yt-dlp's warnings from the same fetch (default: those the fetch
    attached to the exception as ``ytdlp_warnings``); ``js_runtime`` says whether a
    JavaScript runtime was found for yt-dlp (None: unknown).
    """
    chain = list(_chain(exc))
    detail = clean_message(exc)
    for e in chain:
        if isinstance(e, TooShort):
            return Failure("too_short", f"audio is {e.seconds:.1f} s, under the 60 s of one "
                                        "segment: pick a longer video in search/matches.csv")
        if isinstance(e, TooLarge):
            return Failure("invalid_media", f"{e}, more than one song's audio (an endless "
                                            "stream or a film): `search --rematch` picks "
                                            "another candidate")
        if isinstance(e, DecodeError):
            return Failure("invalid_media", f"ffmpeg cannot decode the download ({detail}): "
                                            "not audio, or corrupt; pick another video")
    warned = " | ".join([*warnings, *(w for e in chain
                                      for w in getattr(e, "ytdlp_warnings", ()) or ())])
    text = " | ".join(clean_message(e) for e in chain)
    status = _http_status(chain)
    if status == 429:
        return _fail("rate_limited", "HTTP 429 Too Many Requests", detail)
    youtube = _is_youtube(chain, f"{text} | {warned}")
    challenge_failed = bool(_JS_WARNINGS.search(warned))
    if _NO_FORMAT.search(text) and youtube:
        # with the challenge unsolved YouTube's audio formats are missing
        if js_runtime is False or challenge_failed:
            return _fail("js_runtime", "no playable format: JavaScript challenge not solved",
                         detail)
        if _POT_WARNINGS.search(warned):
            return _fail("blocked", "formats need a PO token", detail)
    if youtube and status == 403 and (js_runtime is False or challenge_failed):
        return _fail("js_runtime", "HTTP 403 after an unsolved JavaScript challenge", detail)
    names = {type(e).__name__ for e in chain}
    if "GeoRestrictedError" in names:
        return _fail("blocked", "blocked in this country (use --proxy in another region)",
                     detail)
    for rule_status, pattern, what in _SITE_RULES:
        if pattern.search(text):
            return _fail(rule_status, what, detail)
    if status == 403:
        if youtube and _POT_WARNINGS.search(warned):
            return _fail("blocked", "HTTP 403: formats need a PO token", detail)
        return _fail("blocked", "HTTP 403 Forbidden: the host refuses this client or the "
                     "link expired", detail)
    if status in (404, 410):
        return _fail("unavailable", f"HTTP {status}: the video or file is gone", detail)
    if "UnsupportedError" in names:
        return _fail("invalid_media", "the URL is a web page without playable media", detail)
    if _NO_FORMAT.search(text):
        return _fail("invalid_media", "no format with audio", detail)
    for rule_status, pattern, what in _LATE_RULES:
        if pattern.search(text):
            return _fail(rule_status, what, detail)
    if status is not None and status >= 500:
        return _fail("network", f"HTTP {status}: server error", detail)
    network_types = {"TransportError", "ContentTooShortError", "IncompleteRead",
                     "ConnectionError", "ProxyError", "SSLError"}
    if names & network_types or any(isinstance(e, (TimeoutError, socket.timeout,
                                                   ConnectionError)) for e in chain):
        return _fail("network", "network failure", detail)
    return Failure("error", f"unexpected failure ({type(exc).__name__}: {detail}): see "
                            "logs/imac-build.log; rerun with --retry-failed")

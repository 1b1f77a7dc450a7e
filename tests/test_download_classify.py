"""The failure taxonomy, fed yt-dlp's real YouTube messages.

Each case names where its text comes from. Text that the installed yt-dlp makes itself
is checked to be in its source (so a yt-dlp upgrade that rewords a message fails here);
text that YouTube sends (a ``playabilityStatus`` reason, which
``yt_dlp/extractor/youtube/_video.py`` raises through ``raise_no_formats(reason)`` with the
cookies hint appended when the reason says "sign in") is marked ``YouTube``.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from imac_builder.download.classify import (
    ADVICE,
    PERMANENT,
    RETRYABLE,
    STATUSES,
    classify,
    retry_class,
)

yt_dlp = pytest.importorskip("yt_dlp")
from yt_dlp.extractor.youtube import YoutubeIE  # noqa: E402
from yt_dlp.networking import Response  # noqa: E402
from yt_dlp.networking.exceptions import HTTPError, TransportError  # noqa: E402
from yt_dlp.utils import DownloadError, ExtractorError, GeoRestrictedError  # noqa: E402

SRC = Path(yt_dlp.__file__).parent
#: yt-dlp's own hint after a "sign in" reason (extractor/youtube/_base.py
#: _youtube_login_hint, from extractor/common.py _login_hint), made by yt-dlp itself.
HINT = YoutubeIE()._youtube_login_hint
VIDEO = "dQw4w9WgXcQ"


def in_source(rel: str, needle: str) -> None:
    assert needle in (SRC / rel).read_text(encoding="utf-8"), f"{needle!r} not in {rel}"


def from_youtube(reason: str, cls: type = ExtractorError) -> DownloadError:
    """The failure as ``YoutubeDL.extract_info`` raises it: a DownloadError around the
    extractor's error (YoutubeDL.py ``trouble``: ``DownloadError(message, exc_info)``)."""
    try:
        raise cls(reason, expected=True, video_id=VIDEO, ie="youtube") \
            if cls is ExtractorError else cls(reason)
    except ExtractorError as e:
        cause = e
    return DownloadError(f"ERROR: {cause}", exc_info=(type(cause), cause, None))


def http_error(status: int) -> DownloadError:
    """An HTTP error during the transfer, as YoutubeDL.py's process_info reports it."""
    in_source("YoutubeDL.py", "unable to download video data: {err}")
    in_source("networking/exceptions.py", "HTTP Error {response.status}: {response.reason}")
    resp = Response(io.BytesIO(b""), f"https://rr1---sn.googlevideo.com/videoplayback?id={VIDEO}",
                    {}, status=status)
    err = HTTPError(resp)
    return DownloadError(f"ERROR: unable to download video data: {err}",
                         exc_info=(type(err), err, None))


# (message, where it comes from: a yt-dlp source file or "YouTube", a piece of it that
#  file holds, expected status)
CASES = [
    ("Sign in to confirm you\u2019re not a bot. " + HINT, "YouTube", None, "blocked"),
    ("Sign in to confirm your age. This video may be inappropriate for some users. " + HINT,
     "extractor/youtube/_video.py", "'confirm your age', 'age-restricted', 'inappropriate'",
     "blocked"),
    ("Private video. Sign in if you've been granted access to this video. " + HINT,
     "extractor/youtube/_video.py", "'skip': 'Private video'", "unavailable"),
    ("Video unavailable. This video has been removed by the uploader", "YouTube", None,
     "unavailable"),
    ("Video unavailable. This video is no longer available because the YouTube account "
     "associated with this video has been terminated.", "YouTube", None, "unavailable"),
    ("Video unavailable. This video is no longer available due to a copyright claim by "
     "Some Label", "YouTube", None, "unavailable"),
    ("This video has been removed for violating YouTube's policy on hate speech.",
     "extractor/youtube/_video.py",
     "This video has been removed for violating YouTube\\'s policy on hate speech.",
     "unavailable"),
    ("This video is not available.", "extractor/youtube/_video.py",
     "'skip': 'This video is not available.'", "unavailable"),
    ("Join this channel to get access to members-only content like this video, and other "
     "exclusive perks.", "YouTube", None, "blocked"),
    ("This content isn't available, try again later. The current session has been "
     "rate-limited by YouTube for up to an hour. It is recommended to use `-t sleep` to add "
     "a delay between video requests to avoid exceeding the rate limit.",
     "extractor/youtube/_video.py", "has been rate-limited by YouTube for up to an hour",
     "rate_limited"),
    ("This video is only available for registered users", "extractor/common.py",
     "msg='This video is only available for registered users'", "blocked"),
]


@pytest.mark.parametrize("message, origin, needle, status", CASES)
def test_youtube_messages(message, origin, needle, status):
    if origin != "YouTube":
        in_source(origin, needle)
    f = classify(from_youtube(message), js_runtime=True)
    assert f.status == status
    assert f.retryable is (status not in PERMANENT)
    assert ADVICE[status] in f.reason and "\n" not in f.reason
    assert not f.reason.startswith("ERROR")


def test_geo_block_raised_as_its_own_type():
    # extractor/youtube/_video.py: subreason.startswith('The uploader has not made this
    # video available in your country') -> self.raise_geo_restricted(subreason, ...)
    text = "The uploader has not made this video available in your country"
    in_source("extractor/youtube/_video.py", text)
    f = classify(from_youtube(text, GeoRestrictedError))
    assert (f.status, f.retryable) == ("blocked", True) and "--proxy" in f.reason


NO_FORMAT = "Requested format is not available. Use --list-formats for a list of available " \
            "formats"
#: extractor/youtube/_video.py: warnings logged before the failure
NO_RUNTIME = ("[youtube] No supported JavaScript runtime could be found. Only deno is enabled by "
              "default; to use another runtime add  --js-runtimes RUNTIME[:PATH]  to your "
              "command/config.")
N_FAILED = ("[youtube] dQw4w9WgXcQ: n challenge solving failed: Some formats may be missing. "
            "Ensure you have a supported JavaScript runtime and challenge solver script "
            "distribution installed.")
POT = ("[youtube] dQw4w9WgXcQ: ios client https formats require a GVS PO Token which was "
       "not provided. They will be skipped as they may yield HTTP Error 403.")


def test_requested_format_not_available_without_runtime_is_the_machines_fault():
    in_source("YoutubeDL.py", NO_FORMAT)
    in_source("extractor/youtube/_video.py", "No supported JavaScript runtime could be found")
    no_runtime = classify(from_youtube_plain(NO_FORMAT), js_runtime=False)
    assert (no_runtime.status, no_runtime.retryable) == ("js_runtime", True)
    assert retry_class(no_runtime.status) == "retryable"
    assert "doctor" in no_runtime.reason
    # the warning alone tells it too (runtime not looked for)
    assert classify(from_youtube_plain(NO_FORMAT), [NO_RUNTIME]).status == "js_runtime"


def test_failed_challenge_and_missing_po_token():
    in_source("extractor/youtube/_video.py",
              "n challenge solving failed: Some formats may be missing. {help_message}")
    in_source("extractor/youtube/_video.py", "formats require a GVS PO Token which was not "
                                             "provided")
    e = from_youtube_plain(NO_FORMAT)
    e.ytdlp_warnings = (N_FAILED,)  # as fetch() attaches them
    assert classify(e, js_runtime=True).status == "js_runtime"
    assert classify(from_youtube_plain(NO_FORMAT), [POT], js_runtime=True).status == "blocked"
    # a YouTube HTTP 403 after an unsolved challenge is the runtime's fault too
    assert classify(http_error(403), [N_FAILED], js_runtime=True).status == "js_runtime"


def test_http_errors():
    forbidden = classify(http_error(403), js_runtime=True)
    assert (forbidden.status, forbidden.retryable) == ("blocked", True)
    assert "HTTP 403" in forbidden.reason
    busy = classify(http_error(429), js_runtime=True)
    assert (busy.status, busy.retryable) == ("rate_limited", True)
    gone = classify(http_error(404), js_runtime=True)
    assert (gone.status, gone.retryable) == ("unavailable", False)
    timeout = TransportError("The read operation timed out")
    net = classify(DownloadError("ERROR: unable to download video data: The read operation "
                                 "timed out", exc_info=(type(timeout), timeout, None)))
    assert (net.status, net.retryable) == ("network", True)


def test_a_page_without_audio_stays_permanent_with_a_runtime():
    # not YouTube (the generic extractor on a plain page): no challenge involved
    err = ExtractorError(NO_FORMAT, expected=True, video_id="page", ie="generic")
    f = classify(DownloadError(f"ERROR: {err}", exc_info=(type(err), err, None)),
                 js_runtime=False)
    assert (f.status, f.retryable) == ("invalid_media", False)


def test_statuses_and_retry_classes():
    assert set(STATUSES) == PERMANENT | RETRYABLE | {"ok"}
    assert RETRYABLE == {"blocked", "rate_limited", "network", "js_runtime", "error"}
    assert PERMANENT == {"unavailable", "invalid_media", "too_short"}
    assert set(ADVICE) == set(STATUSES) - {"ok"}
    assert retry_class("ok") == "done" and retry_class("unavailable") == "permanent"


def from_youtube_plain(message: str) -> DownloadError:
    """YoutubeDL.py's "Requested format" error: ExtractorError(ie=info['extractor'])."""
    return from_youtube(message)


def test_retry_failed_picks_the_retryable(tmp_path):
    from imac_builder.download.commit import plan
    from imac_builder.download.inputs import Job
    from imac_builder.download.ledger import Ledger, LedgerRow
    from imac_builder.download.stage import DownloadSummary

    ledger = Ledger(tmp_path)
    ledger.load()
    jobs = []
    for i, status in enumerate(s for s in STATUSES if s != "ok"):
        tid = f"TR{i:016d}"
        job = Job(tid, f"v{i}", f"https://www.youtube.com/watch?v=v{i}", 200.0, "positive")
        jobs.append(job)
        ledger.commit(LedgerRow(tid, job.video_id, job.url, status, "r", 1, "t", 0), [])
    by_id = {j.track_id: r.status for j, r in zip(jobs, ledger.rows.values(), strict=True)}
    summary = DownloadSummary()
    again = plan(jobs, ledger, tmp_path, True, summary)
    assert {by_id[j.track_id] for j in again} == RETRYABLE
    summary = DownloadSummary()
    assert plan(jobs, ledger, tmp_path, False, summary) == []
    assert summary.retryable_before == len(RETRYABLE)

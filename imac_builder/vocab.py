"""The pipeline's shared vocabularies and id rules, written once.

Labels and emotions (paper Table 1), the audio constants of the segments (spec §3), every
status word a table may hold with whether another run may fix it, and the rules that make
a track, segment, video or image id valid. Every id check is a full match: ``$`` in a
regular expression would also accept a trailing newline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: The IMAC classes, in the paper's order (positive, neutral, negative).
LABELS: tuple[str, ...] = ("positive", "neutral", "negative")
#: The 8 emotions of the Image Emotion database (You et al., AAAI 2016), sorted.
EMOTIONS: tuple[str, ...] = ("amusement", "anger", "awe", "contentment", "disgust",
                             "excitement", "fear", "sadness")
#: Paper Table 1 (spec §4): each emotion's IMAC class.
TABLE1: dict[str, str] = {
    "awe": "positive", "amusement": "positive", "excitement": "positive",
    "contentment": "neutral",
    "fear": "negative", "disgust": "negative", "anger": "negative", "sadness": "negative",
}
#: Paper Table 3: image samples per class in the IMAC database.
PAPER_TABLE3: dict[str, int] = {"positive": 32_868, "neutral": 10_796, "negative": 45_731}
#: The splits, in order, and the paper's 70:10:20 ratios.
SPLITS: tuple[str, ...] = ("train", "val", "test")
#: A stage's state in ``imac-build status`` (docs/formats.md): not run, run with work
#: left, run on inputs (or a configuration) that changed since, finished.
NOT_STARTED, PARTIAL, STALE, DONE = "not started", "partial", "stale", "done"
STAGE_STATES: tuple[str, ...] = (NOT_STARTED, PARTIAL, STALE, DONE)
#: How the fixed evaluation pairs are drawn (``split --protocol``, docs/protocol.md).
PAIR_PROTOCOLS: tuple[str, ...] = ("balanced", "paper")

#: Audio of every segment (spec §3): mono, 22,050 Hz, exactly 60 s.
SAMPLE_RATE = 22_050
SEGMENT_SECONDS = 60
SEGMENT_SAMPLES = SAMPLE_RATE * SEGMENT_SECONDS

TRACK_ID = re.compile(r"TR[A-Z0-9]{16}")
SEGMENT_ID = re.compile(r"(TR[A-Z0-9]{16})_(\d{3})")
#: A YouTube video id as YouTube issues them; the one video-id rule of every table,
#: journal and manifest (``guard.video_id`` checks it where ids enter).
YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
VIDEO_ID = YOUTUBE_ID
#: Image ids are file-name stems in the wild (``amusement_0001``, Flickr ids).
IMAGE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,254}")


def is_track_id(value: object) -> bool:
    """True for an MSD track id (``TR`` and 16 upper-case letters or digits)."""
    return isinstance(value, str) and TRACK_ID.fullmatch(value) is not None


def is_segment_id(value: object) -> bool:
    return isinstance(value, str) and SEGMENT_ID.fullmatch(value) is not None


def is_youtube_id(value: object) -> bool:
    return isinstance(value, str) and YOUTUBE_ID.fullmatch(value) is not None


def is_video_id(value: object) -> bool:
    return isinstance(value, str) and VIDEO_ID.fullmatch(value) is not None


def is_image_id(value: object) -> bool:
    return (isinstance(value, str) and IMAGE_ID.fullmatch(value) is not None
            and ".." not in value)


def segment_id(track_id: str, index: int) -> str:
    """``<track_id>_<k>`` with k from 0, three digits (spec §3)."""
    return f"{track_id}_{index:03d}"


def watch_url(video_id: str) -> str:
    """The YouTube watch URL of a video id."""
    return f"https://www.youtube.com/watch?v={video_id}"


@dataclass(frozen=True)
class Status:
    """A status word a table may hold, whether another run may fix it, and advice."""

    word: str
    retryable: bool
    advice: str


def _statuses(*items: tuple[str, bool, str]) -> dict[str, Status]:
    return {w: Status(w, r, a) for w, r, a in items}


#: ``search/matches.csv`` statuses.
SEARCH_STATUSES = _statuses(
    ("matched", False, "a video was chosen"),
    ("no_match", False, "no candidate passed the chooser; tune it and run `search --rerank`"),
)
#: Why a song of ``search/matches.csv`` is ``no_match``: the word before the reason's
#: first colon (``search --retry-failed WORD`` searches those songs again).
SEARCH_REASONS = _statuses(
    ("search_failed", True, "the search itself failed: `search --retry-failed search_failed`"),
    ("not_searched", True, "not searched yet: run `search` again (quota permitting)"),
    ("no_candidates", True, "the search returned no videos: `search --retry-failed "
                            "no_candidates` or a row in search/overrides.csv"),
    ("below_threshold", False, "no candidate passed the chooser: check the reason, tune "
                               "[search] and `search --rerank`, or add an override"),
    ("no_candidates_left", True, "every stored candidate failed to download or was refused: "
                                 "`search --retry-failed no_candidates_left` searches again"),
    ("skipped", False, "dropped by search/overrides.csv"),
    ("no_metadata", False, "the song has no artist or title in the MSD"),
)
#: ``download/ledger.csv`` statuses (spec §3), success first; ``download --retry-failed``
#: tries the retryable ones again.
DOWNLOAD_STATUSES = _statuses(
    ("ok", False, "downloaded and cut into segments"),
    ("unavailable", False, "gone for everyone (private, removed, account terminated, "
                           "copyright): `search --rematch` picks the song's next candidate"),
    ("blocked", True, "refused to this client (bot check, age gate, members only, country, "
                      "PO token, HTTP 403): pass --cookies or --cookies-from-browser, --proxy "
                      "or a PO-token provider, then rerun with --retry-failed"),
    ("rate_limited", True, "rate limited by the site: wait (up to an hour for YouTube), "
                           "lower --rate, pass --cookies or --proxy, then rerun with "
                           "--retry-failed"),
    ("network", True, "network failure: check the connection (or --proxy, "
                      "--socket-timeout), then rerun with --retry-failed"),
    ("js_runtime", True, "this machine cannot solve YouTube's JavaScript challenge (no JS "
                         "runtime or EJS scripts, or they are too old): run 'imac-build "
                         "doctor --for download', fix it (or pass --js-runtime, upgrade "
                         "yt-dlp), then rerun with --retry-failed"),
    ("invalid_media", False, "not a media file or no audio stream: `search --rematch` picks "
                             "another candidate for the song"),
    ("too_short", False, "audio under the 60 s of one segment: `search --rematch` picks the "
                         "song's next candidate"),
    ("error", True, "unexpected failure: see logs/imac-build.log; rerun with "
                    "--retry-failed"),
)
#: ``images/images.csv`` statuses (spec §4).
IMAGE_STATUSES = _statuses(
    ("ok", False, "usable"),
    ("corrupt", False, "the file does not decode"),
    ("not_image", False, "the bytes are not an image"),
    ("too_small", False, "smaller than the stage's minimum side"),
    ("bomb", False, "claims more pixels than the decompression-bomb limit"),
    ("duplicate", False, "the same bytes as an earlier image"),
    ("placeholder", False, "a site's 'photo unavailable' picture"),
    ("download_failed", True, "the URL did not give an image: run `images --urls` again"),
    ("missing", False, "listed but not found under the image root"),
)

#: ``images/ledger.csv`` statuses: how fetching one URL ended (``images --urls``/``--votes``).
IMAGE_FETCH_STATUSES = _statuses(
    ("ok", False, "fetched (or already on disk)"),
    ("not_found", False, "HTTP 404 or 410: `images --retry-failed` asks again"),
    ("http_error", False, "another HTTP error, or a redirect refused: `images --retry-failed` "
                          "asks again"),
    ("too_large", False, "over --max-bytes: raise it and rerun with --retry-failed"),
    ("timeout", True, "the server did not answer in --timeout: rerun"),
    ("network", True, "the connection failed or was cut short: rerun"),
    ("server_error", True, "HTTP 5xx or 429: rerun later"),
    ("empty", True, "the server sent no bytes: rerun"),
)


def retryable(table: dict[str, Status], word: str) -> bool:
    """Whether another run may fix an item with status ``word`` (unknown words: no)."""
    s = table.get(word)
    return bool(s and s.retryable)

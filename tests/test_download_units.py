"""The download stage's parts: error classification, the rate-limit gate, the ledger."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from imac_builder.config import DownloadConfig
from imac_builder.download import (
    PERMANENT,
    STATUSES,
    Ledger,
    LedgerRow,
    RateGate,
    SegmentRow,
    classify,
    pcm_sha256,
    split_segments,
)
from imac_builder.download.decode import DecodeError, TooShort
from imac_builder.download.fetch import FetchOptions, ydl_options
from imac_builder.download.inputs import check_options
from imac_builder.errors import UserError

yt_dlp = pytest.importorskip("yt_dlp")
from yt_dlp.utils import DownloadError, ExtractorError, GeoRestrictedError  # noqa: E402


def wrapped(msg: str, cls=ExtractorError) -> DownloadError:
    """A failure as yt-dlp raises it from ``extract_info``."""
    cause = cls(msg, expected=True) if cls is ExtractorError else cls(msg)
    return DownloadError(f"ERROR: [youtube] abc: {msg}", exc_info=(type(cause), cause, None))


@pytest.mark.parametrize("message, status, hint", [
    ("Private video. Sign in if you've been granted access to this video",
     "unavailable", "private"),
    ("Video unavailable. This video has been removed by the uploader", "unavailable",
     "removed"),
    ("Video unavailable. This video is no longer available due to a copyright claim by X",
     "unavailable", "copyright"),
    ("Video unavailable. This video is no longer available because the YouTube account "
     "associated with this video has been terminated.", "unavailable", "account"),
    ("Video unavailable. The uploader has not made this video available in your country",
     "blocked", "--proxy"),
    ("Sign in to confirm your age. This video may be inappropriate for some users.",
     "blocked", "age"),
    ("Sign in to confirm you\u2019re not a bot. Use --cookies-from-browser or --cookies",
     "blocked", "--cookies"),
    ("Join this channel to get access to members-only content like this video",
     "blocked", "--cookies"),
    ("This content isn't available, try again later.", "rate_limited", "--rate"),
    ("Requested format is not available. Use --list-formats", "invalid_media", "another"),
])
def test_youtube_messages_map_to_actionable_statuses(message, status, hint):
    f = classify(wrapped(message))
    assert f.status == status
    assert hint in f.reason and "\n" not in f.reason and not f.reason.startswith("ERROR")


def test_exception_types_map_to_statuses():
    geo = GeoRestrictedError("The uploader has not made this video available here")
    assert classify(DownloadError("ERROR: x", exc_info=(type(geo), geo, None))).status \
        == "blocked"
    assert classify(TooShort(42.5)).status == "too_short"
    assert "42.5 s" in classify(TooShort(42.5)).reason
    assert classify(DecodeError("Invalid data found")).status == "invalid_media"
    assert classify(TimeoutError("read timed out")).status == "network"
    assert classify(ConnectionResetError(104, "reset")).status == "network"
    other = classify(ValueError("something odd"))
    assert other.status == "error" and "something odd" in other.reason
    assert set(STATUSES) >= PERMANENT and "ok" not in PERMANENT
    assert PERMANENT == {"unavailable", "invalid_media", "too_short"}


def test_rate_gate_pauses_every_waiter_and_backs_off():
    gate = RateGate(0.2, 0.5)
    stop = threading.Event()
    assert gate.trip() == pytest.approx(0.2, abs=0.05)
    assert gate.trip() <= 0.2  # a second worker's 429 joins the running pause
    waited = []

    def waiter():
        t = time.monotonic()
        gate.wait(stop)
        waited.append(time.monotonic() - t)

    threads = [threading.Thread(target=waiter) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(waited) == 3 and min(waited) >= 0.15
    assert gate.trip() == pytest.approx(0.4, abs=0.05)  # doubled
    gate.wait(stop)
    assert gate.trip() == pytest.approx(0.5, abs=0.05)  # capped
    stop.set()
    t = time.monotonic()
    gate.wait(stop)  # stop ends a pause at once
    assert time.monotonic() - t < 0.1
    gate.reset()
    time.sleep(0.55)
    assert gate.trip() == pytest.approx(0.2, abs=0.05) and gate.pauses == 4


def test_segments_are_exact_and_hash_the_pcm():
    x = (np.arange(1_323_000 * 2 + 999) % 30000).astype(np.int16)
    segs = split_segments(x)
    assert [s.size for s in segs] == [1_323_000, 1_323_000]
    assert np.array_equal(segs[1], x[1_323_000:2_646_000])
    import hashlib
    assert pcm_sha256(segs[0]) == hashlib.sha256(x[:1_323_000].astype("<i2").tobytes()) \
        .hexdigest()
    with pytest.raises(TooShort):
        split_segments(x[:1_322_999])


def _row(tid: str, status: str = "ok", n: int = 1) -> LedgerRow:
    return LedgerRow(tid, "vvvvvvvvvvv", "http://h/x", status, "", 1, "2026-01-01T00:00:00Z",
                     n)


def _seg(tid: str, k: int) -> SegmentRow:
    return SegmentRow(f"{tid}_{k:03d}", tid, "vvvvvvvvvvv", k, f"{60 * k:.3f}", "60.000",
                      f"audio/{tid}/{tid}_{k:03d}.flac", "ab" * 32, "positive")


def test_ledger_replays_its_journal_after_a_crash(tmp_path: Path):
    led = Ledger(tmp_path)
    led.load()
    led.commit(_row("TRB000000000000000"), [_seg("TRB000000000000000", 0)])
    led.commit(_row("TRA000000000000000", "network", 0), [])
    # a crash in the middle of the next journal write leaves half a line
    with open(tmp_path / "download" / ".journal.jsonl", "a") as fh:
        fh.write('{"ledger": {"track_id": "TRC')
    (tmp_path / "download" / ".ledger.csv.123.tmp").write_text("half")
    again = Ledger(tmp_path)
    assert again.load() == 2
    assert sorted(again.rows) == ["TRA000000000000000", "TRB000000000000000"]
    assert again.n_segments() == 1
    assert not (tmp_path / "download" / ".ledger.csv.123.tmp").exists()
    again.flush()
    assert not (tmp_path / "download" / ".journal.jsonl").exists()
    lines = (tmp_path / "download" / "ledger.csv").read_text().splitlines()
    assert [ln.split(",")[0] for ln in lines[1:]] == ["TRA000000000000000",
                                                      "TRB000000000000000"]
    third = Ledger(tmp_path)
    assert third.load() == 0 and third.rows == again.rows and third.segments == again.segments
    # a failed re-attempt drops the song's old segments
    third.commit(_row("TRB000000000000000", "unavailable", 0), [])
    assert third.n_segments() == 0


def test_options_reach_yt_dlp_and_bad_ones_are_refused(tmp_path: Path):
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n")
    opts = ydl_options(tmp_path, FetchOptions(cookies=cookies, proxy="socks5://127.0.0.1:9",
                                              sleep=5, retries=7, socket_timeout=11))
    assert opts["cookiefile"] == str(cookies) and opts["proxy"] == "socks5://127.0.0.1:9"
    assert opts["sleep_interval"] == 5 and opts["retries"] == 7
    assert opts["socket_timeout"] == 11 and opts["format"] == "bestaudio/best"
    assert "cookiefile" not in ydl_options(tmp_path, FetchOptions())
    check_options(cookies, "http://proxy:3128", None)
    for bad in [dict(cookies=tmp_path / "nope"), dict(proxy="ftp://x"), dict(limit=-1)]:
        kw = dict(cookies=None, proxy=None, limit=None)
        kw.update(bad)
        with pytest.raises(UserError):
            check_options(**kw)
    for bad in [dict(jobs=0), dict(jobs=65), dict(socket_timeout=0),  # the settings
                dict(rate=float("nan")), dict(sleep=float("inf"))]:
        with pytest.raises(UserError):
            DownloadConfig(**bad)


def test_a_full_disk_is_recognised_through_yt_dlp_wrapping():
    from imac_builder.download.classify import disk_full

    full = OSError(28, "No space left on device")
    assert disk_full(DownloadError("ERROR: unable to write", exc_info=(OSError, full, None)))
    assert not disk_full(wrapped("Video unavailable"))

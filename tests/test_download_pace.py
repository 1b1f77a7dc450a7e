"""One rate for the whole download run: the slots are shared by every worker."""

from __future__ import annotations

import threading
import time

import pytest
from download_media import FROZEN, source, track_id, write_inputs
from loopback import Route

from imac_builder.config import DownloadConfig
from imac_builder.download.ratelimit import Pace


def test_workers_share_one_rate_with_jitter() -> None:
    pace = Pace(per_hour=36_000, jitter=0.5)  # a mean gap of 0.1 s
    starts: list[float] = []
    lock = threading.Lock()
    stop = threading.Event()

    def worker() -> None:
        for _ in range(3):
            pace.wait(stop)
            with lock:
                starts.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    starts.sort()
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert len(starts) == 12
    assert starts[0] - t0 < 0.05  # the first download starts at once
    # 4 workers, yet never two starts closer than the smallest jittered gap (0.05 s)
    assert min(gaps) >= 0.05 - 0.01
    # 11 gaps of 0.1 s on average: about 1.1 s, not the 0.3 s of 4 workers on their own
    assert 0.55 <= starts[-1] - starts[0] <= 1.8
    assert len({round(g, 3) for g in gaps}) > 5  # jittered, not a clock


def test_stop_ends_the_wait_and_zero_is_unpaced() -> None:
    stop = threading.Event()
    slow = Pace(per_hour=1)  # one an hour
    slow.wait(stop)
    stop.set()
    t0 = time.monotonic()
    slow.wait(stop)
    assert time.monotonic() - t0 < 0.1
    free = Pace(per_hour=0)
    t0 = time.monotonic()
    for _ in range(100):
        free.wait(threading.Event())
    assert time.monotonic() - t0 < 0.1
    assert DownloadConfig().rate <= 300  # below what YouTube tolerates per session


def test_the_stage_paces_all_workers_together(tmp_path, loopback) -> None:
    pytest.importorskip("yt_dlp")
    from imac_builder.download import run_download

    ogg = source(FROZEN, "introzik.ogg").read_bytes()
    rows = []
    for i in range(3):
        loopback.routes[f"/s{i}.ogg"] = Route(ogg, content_type="audio/ogg")
        rows.append((track_id(i), f"vid{i:08d}", loopback.url(f"/s{i}.ogg")))
    write_inputs(tmp_path / "w", rows)
    t0 = time.monotonic()
    # 3 songs, 3 workers, 3,600 an hour: two gaps of 0.5-1.5 s between the starts
    s = run_download(tmp_path / "w", progress=False,
                     config=DownloadConfig(jobs=3, rate=3600, socket_timeout=5))
    took = time.monotonic() - t0
    assert s.ok == 3
    assert took >= 1.0 and s.paced_seconds >= 0.5 + 1.0  # waits add up across workers
    assert "paced at 3600 videos an hour" in "\n".join(s.lines())

"""``run_download``: matched videos to exact 60 s FLAC segments, one committed song at a time."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Collection
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

from ..config import DownloadConfig
from ..errors import UserError
from ..subset import SubsetSpec
from ..subset import in_effect as subset_in_effect
from ..subset import remember as subset_remember
from ..workdir import Workdir
from ..ytdlp_access import JsRuntime, YtdlpAccess, find_js_runtime
from .commit import Committer, clean_orphans, plan
from .decode import ffmpeg_binary
from .fetch import FetchOptions
from .inputs import Job, check_disk_space, check_options, read_labels, read_matches
from .ledger import Ledger
from .ratelimit import Pace, RateGate
from .summary import DownloadSummary
from .worker import WorkerContext, download_one

log = logging.getLogger(__name__)

INCOMING = ".incoming"


#: Failures that may be this machine's fault, and the line that points to the check.
DOCTOR_STATUSES = ("js_runtime", "error")
DOCTOR_NOTE = "check this machine with: imac-build doctor --for download"


def _runtime(spec: str | None, summary: DownloadSummary) -> JsRuntime:
    """Find the JavaScript runtime yt-dlp needs for YouTube; refuse a named one missing."""
    runtime = find_js_runtime(spec)
    summary.js_runtime = runtime.describe()
    if not runtime.found:
        if spec:
            raise UserError(f"--js-runtime {spec}: {runtime.describe()} (or it does not "
                            "run); check with: imac-build doctor --for download")
        log.warning("no JavaScript runtime found: YouTube downloads will fail")
        summary.notes += ["no JavaScript runtime for yt-dlp: YouTube downloads will fail "
                          "(pip install deno, or pass --js-runtime NAME:PATH)", DOCTOR_NOTE]
    return runtime


def _postfix(summary: DownloadSummary) -> str:
    fails = " ".join(f"{s}={n}" for s, n in sorted(summary.failures.items()))
    return (f"segments={summary.segments_written} {fails + ' ' if fails else ''}"
            f"{summary.bytes_downloaded / 1e6:.1f}MB")


def run_download(
    workdir: Workdir | Path,
    *,
    config: DownloadConfig | None = None,
    retry_failed: bool = False,
    limit: int | None = None,
    cookies: Path | None = None,
    proxy: str | None = None,
    access: YtdlpAccess | None = None,
    progress: bool = True,
    subset: SubsetSpec | Collection[str] | None = None,
    no_subset: bool = False,
    _rate_limit_max_wait: float = 900.0,
    _rate_limit_tries: int = 3,
    _stop_after_rate_limited: int = 3,
) -> DownloadSummary:
    """Download every matched song not done yet, cut it into 60 s segments, record it.

    ``config`` holds the stage's settings (:class:`~imac_builder.config.DownloadConfig`:
    its ``rate`` paces videos an hour across all workers, 0 unpaced). ``access`` holds
    yt-dlp's JavaScript runtime (``NAME[:PATH]``; default: the ``deno`` package's Deno),
    browser cookies and extractor arguments. Internal (tests): after a rate-limit answer
    all workers pause ``rate_limit_wait`` seconds, doubling up to
    ``_rate_limit_max_wait``; a song is tried ``_rate_limit_tries`` times before it is
    recorded as ``rate_limited``, and the run stops cleanly after
    ``_stop_after_rate_limited`` such songs in a row.
    """
    config = config or DownloadConfig()
    access = access or YtdlpAccess()
    jobs, rate, sleep = config.jobs, config.rate, config.sleep
    keep_original = config.keep_original
    from tqdm import tqdm

    started = time.monotonic()
    wd = workdir if isinstance(workdir, Workdir) else Workdir(Path(workdir))
    check_options(cookies, proxy, limit)
    labels = read_labels(wd.root)
    matched, invalid = read_matches(wd.root, labels)
    summary = DownloadSummary(matched=len(matched), invalid_rows=invalid, rate=rate or 0.0)

    wd.stage("download")  # its folder and audio/ are the stage's own: never linked out
    audio = wd.stage("audio")
    ledger = Ledger(wd.root)
    replayed = ledger.load()
    if replayed:
        log.info("recovered %d songs from the journal of an interrupted run", replayed)
    incoming = audio / INCOMING
    removed = clean_orphans(ledger, audio, incoming)
    if removed:
        log.info("removed %d leftovers of an interrupted run", removed)

    todo = plan(matched, ledger, wd.root, retry_failed, summary)
    chosen = subset_in_effect(wd.root, subset, no_subset, record=False)
    if chosen is not None:
        todo = [j for j in todo if j.track_id in chosen]
    if limit is not None:
        summary.not_attempted = max(0, len(todo) - limit)
        todo = todo[:limit]
    summary.to_do = len(todo)
    committer = Committer(ledger, audio, incoming,
                           wd.stage("download") / "originals" if keep_original else None)
    if todo:
        check_disk_space(wd.root, todo, jobs, keep_original)
        ffmpeg = ffmpeg_binary()
        runtime = _runtime(access.js_runtime, summary)
        options = FetchOptions(cookies=Path(cookies) if cookies else None, proxy=proxy,
                               sleep=sleep, retries=config.retries,
                               socket_timeout=config.socket_timeout,
                               ffmpeg=ffmpeg, ytdlp_params=access.params(runtime),
                               js_runtime_found=runtime.found)
        ctx = WorkerContext(audio, incoming, options, ffmpeg,
                            RateGate(config.rate_limit_wait, _rate_limit_max_wait),
                            _rate_limit_tries,
                            threading.Event(), Pace(rate))
        # the downloads start: now the subset options are recorded (not before a full
        # disk or a missing ffmpeg refuses the run)
        subset_remember(wd.root, subset, no_subset)
        try:
            _run_jobs(todo, ctx, committer, summary, _stop_after_rate_limited, jobs,
                      tqdm(total=len(todo), unit="song", desc="download",
                           disable=not progress, dynamic_ncols=True))
        finally:
            ctx.stop.set()
            committer.flush()
            summary.rate_limit_pauses = ctx.gate.pauses
            summary.paced_seconds = ctx.pace.waited
            shutil.rmtree(incoming, ignore_errors=True)
    else:
        subset_remember(wd.root, subset, no_subset)
        committer.flush()
    summary.songs_ok_total = sum(r.status == "ok" for r in ledger.rows.values())
    summary.segments_total = ledger.n_segments()
    summary.seconds = time.monotonic() - started
    summary.outputs = [str(ledger.segments_path), str(ledger.ledger_path)]
    if any(s in summary.failures for s in DOCTOR_STATUSES) and DOCTOR_NOTE not in summary.notes:
        summary.notes.append(DOCTOR_NOTE)
    log.info("download: %s", "; ".join(summary.lines()))
    return summary


def _run_jobs(todo: list[Job], ctx: WorkerContext, committer: Committer,
              summary: DownloadSummary, stop_after: int, jobs: int, bar) -> None:
    """Run the workers; commit each finished song in this (the main) thread."""
    in_a_row = 0
    pending = iter(todo)
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="download")
    with bar:
        running: set[Future] = set()
        try:
            while True:
                while len(running) < jobs and not ctx.stop.is_set():
                    job = next(pending, None)
                    if job is None:
                        break
                    running.add(pool.submit(download_one, job, ctx))
                if not running:
                    break
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for fut in done:
                    out = fut.result()
                    if out is None:
                        summary.not_attempted += 1
                        continue
                    committer.commit(out)
                    summary.attempted += 1
                    summary.bytes_downloaded += out.original.size if out.original else 0
                    if out.status == "ok":
                        summary.ok += 1
                        summary.segments_written += len(out.segments)
                    else:
                        summary.failures[out.status] = summary.failures.get(out.status, 0) + 1
                    in_a_row = in_a_row + 1 if out.status == "rate_limited" else 0
                    if stop_after and in_a_row >= stop_after and not ctx.stop.is_set():
                        ctx.stop.set()
                        summary.stopped = (f"{in_a_row} songs in a row were rate limited; "
                                           "wait (hours for YouTube), then rerun with "
                                           "--retry-failed, a lower --rate, --cookies "
                                           "or --proxy")
                    bar.update(1)
                    bar.set_postfix_str(_postfix(summary), refresh=False)
            summary.not_attempted += sum(1 for _ in pending) if ctx.stop.is_set() else 0
        except BaseException:
            ctx.stop.set()  # in-flight transfers abort at their next block
            # wait for them, so none writes into the staging folder after it is removed
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)

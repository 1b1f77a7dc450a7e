"""``--urls``: download images in parallel with retries, a timeout, a size cap and a ledger.

Every URL attempted gets one row in ``images/ledger.csv`` (like the download stage's
ledger). A rerun skips files already on disk, does not ask again for permanent failures
(404/410, other 4xx, over the size cap; unless ``retry_failed``) and retries the
transient ones (timeouts, network errors, 5xx and 429). Files are written to a
temporary name and renamed when complete, so a crash never leaves half an image behind.
"""

from __future__ import annotations

import http.client
import logging
import os
import ssl
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import astuple, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from .. import __version__, atomic, tables
from ..config import ImagesConfig
from ..vocab import IMAGE_FETCH_STATUSES

log = logging.getLogger(__name__)

LEDGER_COLUMNS = tables.IMAGE_LEDGER.columns
#: Failures asked again on a rerun only with ``retry_failed`` (vocab.IMAGE_FETCH_STATUSES).
PERMANENT = frozenset(w for w, s in IMAGE_FETCH_STATUSES.items()
                      if w != "ok" and not s.retryable)
#: Failures retried at once (with backoff) and again on a rerun.
TRANSIENT = frozenset(w for w, s in IMAGE_FETCH_STATUSES.items() if s.retryable)
DEFAULT_TIMEOUT = ImagesConfig().timeout  # declared in config
DEFAULT_MAX_BYTES = ImagesConfig().max_bytes  # declared in config
DEFAULT_RETRIES = ImagesConfig().retries  # declared in config
DEFAULT_FETCH_JOBS = ImagesConfig().fetch_jobs  # declared in config
#: One attempt may take at most this many times ``timeout`` in all (slow-drip servers).
DEADLINE_FACTOR = 10
_CHUNK = 64 * 1024


@dataclass
class FetchJob:
    """One URL to fetch into ``root / path``."""

    image_id: str
    url: str
    path: str  # relative to the image root, already validated


@dataclass
class LedgerEntry:
    """A row of ``images/ledger.csv``."""

    image_id: str
    url: str
    path: str
    status: str  # ok, or one of PERMANENT | TRANSIENT
    reason: str = ""
    attempts: int = 0
    last_attempt: str = ""
    bytes: int = 0


@dataclass
class FetchOutcome:
    """What :func:`fetch_all` did."""

    entries: dict[str, LedgerEntry] = field(default_factory=dict)
    downloaded: int = 0
    already_present: int = 0
    failed: int = 0
    not_retried: set[str] = field(default_factory=set)


class _FetchError(Exception):
    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects to http(s) only (a hostile server cannot point us at file://)."""

    max_redirections = 5

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, ANN201
        if urlsplit(newurl).scheme.lower() not in ("http", "https"):
            raise _FetchError("http_error", f"redirect to a non-http URL refused: {newurl[:80]}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def read_ledger(path: Path) -> dict[str, LedgerEntry]:
    """The ledger of an earlier run (empty when there is none)."""
    out: dict[str, LedgerEntry] = {}
    for row in tables.read_csv(path, what=tables.IMAGE_LEDGER.path):
        try:
            e = LedgerEntry(row["image_id"], row["url"], row["path"], row["status"],
                            row.get("reason", ""), int(row.get("attempts") or 0),
                            row.get("last_attempt", ""), int(row.get("bytes") or 0))
        except (KeyError, ValueError):
            continue
        out[e.image_id] = e
    return out


def write_ledger(path: Path, entries: dict[str, LedgerEntry]) -> None:
    atomic.write_csv(path, LEDGER_COLUMNS,
                     (astuple(entries[k]) for k in sorted(entries)))


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _download(opener: urllib.request.OpenerDirector, job: FetchJob, dest: Path,
              timeout: float, max_bytes: int) -> int:
    """One attempt; the file appears at ``dest`` only when complete. Returns its size."""
    req = urllib.request.Request(job.url, headers={
        "User-Agent": f"imac-builder/{__version__} (+dataset rebuild)", "Accept": "image/*"})
    deadline = time.monotonic() + timeout * DEADLINE_FACTOR
    tmp = dest.with_name(f".{dest.name}.part")
    try:
        with opener.open(req, timeout=timeout) as resp:
            length = resp.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise _FetchError("too_large", f"{int(length):,} bytes announced, over "
                                               f"--max-bytes {max_bytes:,}")
            dest.parent.mkdir(parents=True, exist_ok=True)
            n = 0
            with open(tmp, "wb") as fh:
                while chunk := resp.read(_CHUNK):
                    n += len(chunk)
                    if n > max_bytes:
                        raise _FetchError("too_large", f"over --max-bytes {max_bytes:,}")
                    if time.monotonic() > deadline:
                        raise _FetchError("timeout", f"still downloading after "
                                                     f"{timeout * DEADLINE_FACTOR:g} s")
                    fh.write(chunk)
        if length and length.isdigit() and n < int(length):
            raise _FetchError("network", f"cut short: {n:,} of {int(length):,} bytes")
        if n == 0:
            raise _FetchError("empty", "empty response")
        os.replace(tmp, dest)
        return n
    except urllib.error.HTTPError as e:
        if e.code in (404, 410):
            raise _FetchError("not_found", f"HTTP {e.code}") from None
        if 300 <= e.code < 400:
            raise _FetchError("http_error", f"HTTP {e.code}: redirect refused or "
                                            "unfollowable") from None
        if e.code == 429 or e.code >= 500:
            raise _FetchError("server_error", f"HTTP {e.code}") from None
        raise _FetchError("http_error", f"HTTP {e.code}") from None
    except urllib.error.URLError as e:
        if isinstance(e.reason, _FetchError):
            raise e.reason from None
        if isinstance(e.reason, TimeoutError):
            raise _FetchError("timeout", f"no answer within {timeout:g} s") from None
        raise _FetchError("network", f"{e.reason}"[:200]) from None
    except TimeoutError:
        raise _FetchError("timeout", f"no data within {timeout:g} s") from None
    except (http.client.HTTPException, ConnectionError, ssl.SSLError) as e:
        raise _FetchError("network", f"{type(e).__name__}: {e}"[:200]) from None
    finally:
        tmp.unlink(missing_ok=True)


def fetch_one(job: FetchJob, root: Path, *, timeout: float, max_bytes: int, retries: int,
              backoff: float, prior: LedgerEntry | None = None) -> LedgerEntry:
    """Fetch one URL with up to ``retries`` retries of transient failures."""
    opener = urllib.request.build_opener(_HttpOnlyRedirects)
    entry = LedgerEntry(job.image_id, job.url, job.path, "network",
                        attempts=prior.attempts if prior else 0)
    for attempt in range(retries + 1):
        entry.attempts += 1
        entry.last_attempt = _now()
        try:
            entry.bytes = _download(opener, job, root / job.path, timeout, max_bytes)
            entry.status, entry.reason = "ok", ""
            return entry
        except _FetchError as e:
            entry.status, entry.reason = e.status, e.reason
        except OSError as e:  # disk errors writing the file: surface them
            if getattr(e, "errno", None) is not None and not isinstance(e, ConnectionError):
                raise
            entry.status, entry.reason = "network", f"{type(e).__name__}: {e}"[:200]
        if entry.status not in TRANSIENT or attempt == retries:
            break
        time.sleep(backoff * (2 ** attempt))
    return entry


def fetch_all(jobs: list[FetchJob], root: Path, ledger_path: Path, *,
              timeout: float = DEFAULT_TIMEOUT, max_bytes: int = DEFAULT_MAX_BYTES,
              retries: int = DEFAULT_RETRIES, workers: int = DEFAULT_FETCH_JOBS,
              retry_failed: bool = False, backoff: float = 0.5,
              progress: bool = False) -> FetchOutcome:
    """Fetch what is not on disk yet, in parallel; keep the ledger current throughout."""
    from tqdm import tqdm

    previous = read_ledger(ledger_path)
    out = FetchOutcome(entries=dict(previous))
    todo: list[FetchJob] = []
    for job in jobs:
        prior = previous.get(job.image_id)
        if (root / job.path).is_file():
            out.already_present += 1
            if prior is None or prior.status != "ok":
                size = (root / job.path).stat().st_size
                out.entries[job.image_id] = LedgerEntry(
                    job.image_id, job.url, job.path, "ok", "already on disk",
                    prior.attempts if prior else 0, prior.last_attempt if prior else "", size)
        elif (prior is not None and prior.status in PERMANENT and prior.url == job.url
              and not retry_failed):
            out.not_retried.add(job.image_id)
        else:
            todo.append(job)
    if not todo:
        if out.entries != previous:
            write_ledger(ledger_path, out.entries)
        return out

    last_save = time.monotonic()
    bar = tqdm(total=len(todo), desc="fetch", unit="img", disable=not progress)
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="fetch")
    try:
        futures = {pool.submit(fetch_one, job, root, timeout=timeout, max_bytes=max_bytes,
                               retries=retries, backoff=backoff,
                               prior=previous.get(job.image_id)): job for job in todo}
        for fut in as_completed(futures):
            entry = fut.result()
            out.entries[entry.image_id] = entry
            if entry.status == "ok":
                out.downloaded += 1
            else:
                out.failed += 1
                log.info("fetch %s failed: %s %s (%s)", entry.image_id, entry.status,
                         entry.reason, entry.url)
            bar.update(1)
            if time.monotonic() - last_save > 10:
                write_ledger(ledger_path, out.entries)
                last_save = time.monotonic()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
        write_ledger(ledger_path, out.entries)
    return out

"""``run_images``: list, fetch, check and regroup the Image Emotion database (spec §4)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from .. import atomic, tables
from ..config import ImagesConfig
from ..errors import UserError
from ..workdir import Workdir
from .check import CheckCache, CheckResult, check_many, default_jobs
from .content import judge
from .fetch import FetchJob, fetch_all
from .layout import (
    ImageRef,
    Listing,
    read_url_list,
    read_votes,
    recognise_layout,
    scan_root,
    url_suffix,
)
from .regroup import EMOTIONS, LABELS, label_of
from .report import render_report
from .summary import ImagesSummary, Row

log = logging.getLogger(__name__)

IMAGES_COLUMNS = tables.IMAGES.columns
_REJECTED_SHOWN = 20
def _inside(root: Path, rel: str) -> bool:
    """True when ``root/rel`` stays under ``root`` once symlinks are resolved."""
    try:
        (root / rel).resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _merge(local: Listing, others: Sequence[Listing]) -> tuple[dict[str, ImageRef], set[str]]:
    """One catalogue keyed by image id: files on disk first, then votes and URL lists."""
    cat: dict[str, ImageRef] = {r.image_id: r for r in local.refs}
    on_disk = set(cat)
    for listing in others:
        for ref in listing.refs:
            have = cat.get(ref.image_id)
            if have is None:
                cat[ref.image_id] = ref
                continue
            if have.agree is None and ref.agree is not None:
                have.agree, have.disagree = ref.agree, ref.disagree
            if have.url is None:
                have.url = ref.url
            if ref.image_id not in on_disk and have.path is None:
                have.path = ref.path
    # A URL list naming its own path (and id) for a file already on disk: the file is
    # that entry's, not a second image found by the layout scan.
    by_path = {cat[i].path: i for i in on_disk}
    for ref in list(cat.values()):
        local_id = by_path.get(ref.path)
        if ref.image_id in on_disk or local_id is None or local_id == ref.image_id:
            continue
        local = cat.pop(local_id)
        on_disk.discard(local_id)
        on_disk.add(ref.image_id)
        if ref.agree is None:
            ref.agree, ref.disagree = local.agree, local.disagree
    return cat, on_disk


def run_images(
    workdir: Workdir | Path,
    *,
    config: ImagesConfig | None = None,
    root: Path | None = None,
    votes: Path | None = None,
    urls: Sequence[Path] = (),
    retry_failed: bool = False,
    offline: bool = False,
    progress: bool = True,
    _backoff: float = 0.5,
) -> ImagesSummary:
    """Read the layouts, fetch URLs, check every image, regroup, write ``images/``.

    Refuses (``UserError``, nothing written) when no input lists an image of one of the
    3 classes, or, with images found under the root, of one of the 8 emotions, unless
    ``allow_missing_classes``: the summary and the report then say which are empty.
    ``_backoff`` (internal, tests) is the first pause before a fetch is retried."""
    c = config or ImagesConfig()
    wd = workdir if isinstance(workdir, Workdir) else Workdir(Path(workdir))
    if root is None and votes is None and not urls:
        raise UserError("give --root (images on disk), --votes (vote CSVs) or --urls")
    if c.verified_only and votes is None:
        raise UserError("--verified-only needs --votes (the per-emotion vote CSVs)")
    if root is not None and not Path(root).is_dir():
        raise UserError(f"--image-root {root} is not a folder")
    out = wd.stage("images")
    atomic.remove_stale_temporaries(out)
    image_root = Path(root) if root is not None else tables.IMAGE_FILES.at(wd.root)
    jobs = default_jobs() if not c.jobs or c.jobs < 1 else c.jobs

    cat, on_disk, summary = _catalogue(image_root, votes, urls, jobs, c)
    rows: dict[str, Row] = {}
    summary.already_present = sum(1 for i in on_disk if cat.get(i) and cat[i].url)
    fetches = _plan_fetches(cat, on_disk, image_root, offline, rows)
    if fetches:
        _fetch(fetches, cat, on_disk, image_root, tables.IMAGE_LEDGER.at(wd.root), c,
               retry_failed, _backoff, progress, rows, summary)
    checks = _check(image_root, out, {i: cat[i] for i in on_disk if i in cat}, jobs,
                    c.max_pixels, progress, summary)
    verdicts = judge(cat, checks, min_size=c.min_size,
                     placeholder_copies=c.placeholder_copies)
    for image_id, res in checks.items():
        ref, v = cat[image_id], verdicts[image_id]
        status, reason = v.status, v.reason
        if status == "missing":  # vanished between listing and checking
            reason = res.detail
        rows[image_id] = Row(image_id, res.path, ref.emotion, label_of(ref.emotion),
                             res.sha256, res.width, res.height, status, reason)
    _write(wd.root, rows, c, summary, fetched=bool(fetches))
    log.info("images: %s", "; ".join(summary.lines()))
    return summary


def _catalogue(image_root: Path, votes: Path | None, urls: Sequence[Path], jobs: int,
               c: ImagesConfig) -> tuple[dict[str, ImageRef], set[str], ImagesSummary]:
    """Every image the inputs list (merged), those on disk, and the summary so far;
    refuses (nothing written) when a class or emotion has none, unless allowed."""
    local = scan_root(image_root)
    others = ([read_votes(Path(votes))] if votes is not None else []) + [
        read_url_list(Path(u)) for u in urls]
    cat, on_disk = _merge(local, others)
    layout, other = recognise_layout(local)
    summary = ImagesSummary(image_root=str(image_root), jobs=jobs,
                            found_on_disk=len(on_disk), layout=layout, other_dataset=other,
                            ignored_files=local.ignored_files,
                            ignored_folders=dict(local.ignored_folders),
                            ignored_paths=list(local.ignored_paths),
                            allow_missing_classes=c.allow_missing_classes)
    if local.ignored_files:
        log.warning("images: %s", summary.ignored_line())
    rejected = [r for listing in others for r in listing.rejected]
    summary.rejected_rows = len(rejected)
    summary.rejected_examples = [f"{r.where}: {r.reason}" for r in rejected[:_REJECTED_SHOWN]]
    for r in rejected[:_REJECTED_SHOWN]:
        log.warning("input not used: %s: %s", r.where, r.reason)

    if c.verified_only:
        keep = {i: r for i, r in cat.items() if r.verified}
        summary.dropped_unverified = len(cat) - len(keep)
        cat = keep
    listed = Counter(label_of(r.emotion) for r in cat.values())
    summary.listed_per_label = {g: listed[g] for g in LABELS}
    summary.empty_classes = [g for g in LABELS if not summary.listed_per_label[g]]
    if local.refs:  # an FI layout on disk: each of its 8 emotions should be there
        found = {r.emotion for r in cat.values()}
        summary.empty_emotions = [e for e in EMOTIONS if e not in found]
    if summary.missing_line():
        log.warning("images: %s", summary.missing_line())
    what = ((f"; {other}" if other else "")
            + (f"; {summary.ignored_line()}" if local.ignored_files else ""))
    if not cat and not c.allow_missing_classes:
        raise UserError(f"no images found (root {image_root}; layout: {layout}{what}"
                        "; layouts read: <emotion>/*.jpg, <emotion>_NNNN.jpg, --votes "
                        "<emotion>_*.csv, --urls)")
    if summary.missing_line() and not c.allow_missing_classes:
        raise UserError(f"images: {summary.missing_line()} (layout: {layout}{what}"
                        "); nothing written: fix --root/--votes/--urls, or give "
                        "--allow-missing-classes to go on without them")
    return cat, on_disk, summary


def _plan_fetches(cat: dict[str, ImageRef], on_disk: set[str], image_root: Path,
                  offline: bool, rows: dict[str, Row]) -> list[FetchJob]:
    """The URLs to fetch; images that cannot be had become ``missing`` rows."""
    fetches: list[FetchJob] = []
    claimed: dict[str, str] = {cat[i].path or "": i for i in on_disk}

    def missing(image_id: str, ref: ImageRef, reason: str) -> None:
        rows[image_id] = Row(image_id, "", ref.emotion, label_of(ref.emotion),
                             status="missing", reason=reason)

    for image_id, ref in cat.items():
        if image_id in on_disk:
            continue
        rel = ref.path or f"{ref.emotion}/{image_id}{url_suffix(ref.url or '')}"
        if not _inside(image_root, rel):
            missing(image_id, ref, f"path {rel} leaves the image root")
            continue
        if rel in claimed:
            missing(image_id, ref, f"path {rel} also given to {claimed[rel]}")
            continue
        claimed[rel] = image_id
        ref.path = rel
        if ref.url is None:
            missing(image_id, ref, "not on disk and no usable URL")
        elif offline:
            if (image_root / rel).is_file():
                on_disk.add(image_id)
            else:
                missing(image_id, ref, f"not on disk; not fetched (--offline): {ref.url}")
        else:
            fetches.append(FetchJob(image_id, ref.url, rel))
    return fetches


def _fetch(fetches: list[FetchJob], cat: dict[str, ImageRef], on_disk: set[str],
           image_root: Path, ledger: Path, c: ImagesConfig, retry_failed: bool,
           backoff: float, progress: bool, rows: dict[str, Row],
           summary: ImagesSummary) -> None:
    """Fetch the planned URLs; a failure becomes a ``download_failed`` row."""
    outcome = fetch_all(fetches, image_root, ledger, timeout=c.timeout,
                        max_bytes=c.max_bytes, retries=c.retries, workers=c.fetch_jobs,
                        retry_failed=retry_failed, backoff=backoff, progress=progress)
    summary.fetch_attempted = (len(fetches) - outcome.already_present
                               - len(outcome.not_retried))
    summary.downloaded, summary.fetch_failed = outcome.downloaded, outcome.failed
    summary.already_present += outcome.already_present
    summary.not_retried = len(outcome.not_retried)
    for job in fetches:
        entry = outcome.entries.get(job.image_id)
        if entry is not None and entry.status == "ok":
            on_disk.add(job.image_id)
            continue
        ref = cat[job.image_id]
        why = f"{entry.status}: {entry.reason}" if entry else "not fetched"
        if job.image_id in outcome.not_retried:
            why += " (in an earlier run; --retry-failed asks again)"
        rows[job.image_id] = Row(job.image_id, job.path, ref.emotion,
                                 label_of(ref.emotion), status="download_failed",
                                 reason=f"{why} ({job.url})")
        if entry is not None:
            summary.fetch_failures[entry.status] = \
                summary.fetch_failures.get(entry.status, 0) + 1


def _write(root: Path, rows: dict[str, Row], c: ImagesConfig, summary: ImagesSummary,
           fetched: bool) -> None:
    """``images/images.csv`` and the report, with the counts of the summary."""
    ordered = [rows[i] for i in sorted(rows)]
    summary.images_listed = len(ordered)
    summary.per_status = dict(sorted(Counter(r.status for r in ordered).items()))
    summary.ok_per_emotion = {e: sum(r.status == "ok" and r.emotion == e for r in ordered)
                              for e in EMOTIONS}
    summary.ok_per_label = {g: sum(r.status == "ok" and r.label == g for r in ordered)
                            for g in LABELS}
    tables.write_table(root, tables.IMAGES, (r.row() for r in ordered))
    settings = {"verified only": c.verified_only, "min size": c.min_size,
                "max pixels": f"{c.max_pixels:,}", "placeholder copies": c.placeholder_copies,
                "allow missing classes": c.allow_missing_classes}
    atomic.write_text(tables.IMAGES_REPORT.at(root), render_report(summary, ordered, settings))
    summary.outputs = [str(tables.IMAGES.at(root)), str(tables.IMAGES_REPORT.at(root))]
    if fetched:
        summary.outputs.append(str(tables.IMAGE_LEDGER.at(root)))


def _check(image_root: Path, out: Path, refs: dict[str, ImageRef], jobs: int, max_pixels: int,
           progress: bool, summary: ImagesSummary) -> dict[str, CheckResult]:
    """Check every file on disk, reusing earlier results for unchanged files."""
    cache = CheckCache(out / ".state" / "checks.jsonl")
    results: dict[str, CheckResult] = {}
    by_path: dict[str, str] = {}
    tasks: list[tuple[str, str, int]] = []
    for image_id, ref in refs.items():
        assert ref.path is not None
        hit = cache.lookup(ref.path, image_root / ref.path, max_pixels)
        if hit is not None:
            results[image_id] = hit
        else:
            by_path[ref.path] = image_id
            tasks.append((ref.path, str(image_root / ref.path), max_pixels))
    summary.checks_reused = len(results)
    try:
        for res in check_many(tasks, jobs=jobs, on_result=cache.add, progress=progress):
            results[by_path[res.path]] = res
    finally:
        cache.close(keep=[r.path for r in results.values()]
                    if len(results) == len(refs) else None)
    summary.checked = len(tasks)
    return results

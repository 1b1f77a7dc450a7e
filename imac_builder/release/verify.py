"""``run_verify``: a work directory against a manifest, item by item (like mirdata's validate).

A segment is *missing* when its FLAC file is absent and *invalid* when the file cannot be
decoded, is not one mono 22,050 Hz segment, or its decoded samples' sha256 differs from
the manifest's. Images are checked the same way (sha256 of the file) when an image
folder is at hand.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import atomic, guard
from .. import tables as T
from ..download.decode import pcm_sha256
from ..errors import UserError
from ..paths import inside
from ..stopping import Cancelled, stop_threads
from ..vocab import SAMPLE_RATE, SEGMENT_SAMPLES
from ..workdir import Workdir
from .manifest import Manifest, segment_path
from .provenance import sha256_file

log = logging.getLogger(__name__)

SHOWN = 20
REPORT_COLUMNS = ("kind", "item_id", "status", "detail")


@dataclass(frozen=True)
class ItemCheck:
    kind: str  # segment | image
    item_id: str
    status: str  # ok | missing | invalid
    detail: str = ""


@dataclass
class VerifySummary:
    manifest: str = ""
    checked: int = 0
    ok: int = 0
    missing: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    not_checked: dict[str, int] = field(default_factory=dict)
    #: ids of the segments found invalid (a rebuild fetches them again)
    invalid_segments: list[str] = field(default_factory=list)
    allow_missing: bool = False
    report: str = ""
    #: Cells of the manifest's tables a spreadsheet would run as formulas.
    formulas: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.invalid) or (bool(self.missing) and not self.allow_missing) \
            or self.checked == 0

    def to_dict(self) -> dict:
        return {**asdict(self), "failed": self.failed}

    def failure(self) -> str:
        """One line for the exit status."""
        parts = []
        if self.checked == 0:
            parts.append("nothing was checked (the release lists no segment, and no image "
                         "was checked)")
        if self.invalid:
            parts.append(f"{len(self.invalid)} invalid (first: {self.invalid[0]})")
        if self.missing and not self.allow_missing:
            parts.append(f"{len(self.missing)} missing (first: {self.missing[0]}; "
                         "--allow-missing accepts vanished videos)")
        return f"verify against {self.manifest} failed: " + "; ".join(parts)

    def lines(self) -> list[str]:
        verdict = "FAILED" if self.failed else "passed"
        out = [f"verify against {self.manifest} {verdict}: {self.checked} items checked, "
               f"{self.ok} ok, {len(self.missing)} missing"
               + (" (allowed)" if self.allow_missing and self.missing else "")
               + f", {len(self.invalid)} invalid (hash mismatch or unreadable)"]
        for what, items in (("invalid", self.invalid), ("missing", self.missing)):
            for item in items[:SHOWN]:
                out.append(f"  {what}: {item}")
            if len(items) > SHOWN:
                out.append(f"  ... and {len(items) - SHOWN} more {what} (see {self.report})")
        for kind, n in sorted(self.not_checked.items()):
            out.append(f"{n} {kind} not checked (no image folder: give --image-root)")
        from .stage import formula_lines

        out += formula_lines(self.formulas)
        if self.report:
            out.append(f"wrote {self.report}")
        return out


def check_segment(root: Path, row: dict[str, str], stop: Any = None) -> ItemCheck:
    """Decode one segment and compare the sha256 of its samples with the manifest's."""
    import soundfile

    sid = row["segment_id"]
    path = root / segment_path(row)
    if not path.exists():  # absent, or a link to nothing (a FIFO is invalid, below)
        return ItemCheck("segment", sid, "missing", f"{segment_path(row)} not found")
    if not inside(root / "audio", path):
        return ItemCheck("segment", sid, "invalid", f"{segment_path(row)} is a symbolic link "
                         "out of the audio folder: not read")
    try:
        guard.check_input(path, "a segment", guard.SEGMENT_LIMIT)
    except UserError as e:
        return ItemCheck("segment", sid, "invalid", str(e))
    try:
        data, rate = soundfile.read(str(path), dtype="int16", always_2d=False)
    except (RuntimeError, soundfile.LibsndfileError, OSError) as e:
        return ItemCheck("segment", sid, "invalid", f"unreadable ({e})")
    if rate != SAMPLE_RATE or data.ndim != 1 or data.shape[0] != SEGMENT_SAMPLES:
        return ItemCheck("segment", sid, "invalid",
                         f"not one mono {SAMPLE_RATE} Hz segment ({rate} Hz, shape "
                         f"{tuple(data.shape)})")
    got = pcm_sha256(data)
    if got != row["sha256"]:
        return ItemCheck("segment", sid, "invalid",
                         f"sha256 of decoded samples {got[:12]} != {row['sha256'][:12]}")
    return ItemCheck("segment", sid, "ok")


def check_image(image_root: Path, row: dict[str, str], stop: Any = None) -> ItemCheck:
    """Hash one image (a regular file of at most :data:`guard.IMAGE_LIMIT` bytes, checked
    before a byte is read) and compare it with the manifest's sha256."""
    iid = row["image_id"]
    path = image_root / row["path"]
    if not row["path"] or not path.exists():
        return ItemCheck("image", iid, "missing", f"{row['path'] or iid} not found")
    if not inside(image_root, path):
        return ItemCheck("image", iid, "invalid", f"{row['path']} is a symbolic link out of "
                         "the image root: not read")
    try:
        fd = guard.open_input(path, "an image", guard.IMAGE_LIMIT)
    except UserError as e:
        return ItemCheck("image", iid, "invalid", str(e))
    got = sha256_file(fd, stop=stop)
    if got != row["sha256"]:
        return ItemCheck("image", iid, "invalid", f"sha256 {got[:12]} != {row['sha256'][:12]}")
    return ItemCheck("image", iid, "ok")


def _task(task: tuple, stop: Any) -> ItemCheck:
    """Run one check unless the command is stopping (queued checks then end at once)."""
    if stop.is_set():
        raise Cancelled("verify")
    return task[0](task[1], task[2], stop)


def run_verify(workdir: Workdir | Path, manifest: Path | Manifest, allow_missing: bool = False,
               image_root: Path | None = None, jobs: int | None = None,
               progress: bool = True) -> VerifySummary:
    """Check every segment (and image, with an image folder) of ``manifest`` in ``workdir``;
    write ``logs/verify-<name>-<version>.csv`` with one row per item."""
    from tqdm import tqdm

    wd = workdir if isinstance(workdir, Workdir) else Workdir(Path(workdir))
    m = manifest if isinstance(manifest, Manifest) else Manifest.load(manifest)
    summary = VerifySummary(manifest=m.label, allow_missing=allow_missing)
    from .stage import find_formulas

    summary.formulas = find_formulas(m.folder)
    images = [r for r in m.rows("images") if r["status"] == "ok"]
    if image_root is None and T.IMAGE_FILES.at(wd.root).is_dir():
        image_root = T.IMAGE_FILES.at(wd.root)
    if images and image_root is None:
        summary.not_checked["images"] = len(images)
        images = []
    tasks = [(check_segment, wd.root, r) for r in m.rows("segments")]
    tasks += [(check_image, Path(image_root), r) for r in images]  # type: ignore[arg-type]
    jobs = jobs or min(4, os.cpu_count() or 1)
    results: list[ItemCheck] = []
    # Ctrl-C or SIGTERM sets ``stop``: workers end between blocks, queued items are dropped
    with ThreadPoolExecutor(max_workers=jobs) as pool, stop_threads() as stop, \
            tqdm(total=len(tasks), unit="item", desc="verify", disable=not progress) as bar:
        for res in pool.map(lambda t: _task(t, stop), tasks):
            results.append(res)
            bar.update(1)
    counts = Counter(r.status for r in results)
    summary.checked, summary.ok = len(results), counts["ok"]
    summary.missing = [f"{r.kind} {r.item_id}: {r.detail}" for r in results
                       if r.status == "missing"]
    summary.invalid = [f"{r.kind} {r.item_id}: {r.detail}" for r in results
                       if r.status == "invalid"]
    summary.invalid_segments = [r.item_id for r in results
                                if r.status == "invalid" and r.kind == "segment"]
    report = wd.logs / f"verify-{m.label}.csv"
    atomic.write_csv(report, REPORT_COLUMNS,
                     ((r.kind, r.item_id, r.status, r.detail) for r in results))
    summary.report = str(report)
    log.info("verify: %s", "; ".join(summary.lines()))
    return summary

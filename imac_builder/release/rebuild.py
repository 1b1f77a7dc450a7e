"""``run_rebuild``: the dataset's audio again from a manifest alone, then ``verify``.

No search and no API quota: the manifest's songs and chosen videos become the work
directory's ``tags/songs.csv`` and ``search/matches.csv``, the download stage fetches
them by URL (or by YouTube video id) exactly as in a normal build, and the split is
restored as released. Only songs that have segments in the release are fetched.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import atomic
from .. import tables as T
from ..config import RebuildConfig
from ..errors import UserError
from ..paths import inside
from ..workdir import Workdir, update_state
from ..ytdlp_access import YtdlpAccess
from .checks import video_url
from .manifest import Manifest, segment_path
from .verify import VerifySummary, run_verify

log = logging.getLogger(__name__)


@dataclass
class RebuildSummary:
    manifest: str = ""
    songs: int = 0
    download: dict[str, Any] = field(default_factory=dict)
    download_lines: list[str] = field(default_factory=list)
    verify: VerifySummary = field(default_factory=VerifySummary)

    @property
    def failed(self) -> bool:
        return self.verify.failed

    def failure(self) -> str:
        return self.verify.failure()

    def to_dict(self) -> dict:
        return {"manifest": self.manifest, "songs": self.songs, "download": self.download,
                "verify": self.verify.to_dict(), "failed": self.failed}

    def lines(self) -> list[str]:
        return ([f"rebuilding {self.manifest}: {self.songs} songs by video id "
                 "(no search, no API quota)"]
                + [f"download: {line}" for line in self.download_lines]
                + self.verify.lines())


def _write_once(root: Path, table: T.Table, rows: list[list[str]]) -> None:
    """Write a table the rebuild owns; refuse to replace a different one (another build)."""
    path = table.at(root)
    text = atomic.csv_text(table.columns, rows)
    if path.is_file():
        if path.read_text(encoding="utf-8") == text:
            return
        raise UserError(f"{path} already exists and differs from the release: rebuild into "
                        "a new --workdir (a rebuild never overwrites another build)")
    atomic.write_text(path, text)


def restore_inputs(wd: Workdir, m: Manifest) -> int:
    """Write ``tags/songs.csv``, ``search/matches.csv`` and the split; return the songs."""
    split_info = _split_record(m) if "split" in m.meta else None  # checked before writing
    wanted = {r["track_id"] for r in m.rows("segments")}
    videos = {r["track_id"]: r for r in m.rows("videos")}
    matches = []
    for tid in sorted(wanted):
        v = videos.get(tid)
        if v is None or not (v["video_id"] or v["url"]):
            raise UserError(f"{m.label}: segments of {tid} but no video in videos.csv")
        url = video_url(v["video_id"], v["url"], f"videos.csv ({tid})")
        matches.append([tid, v["video_id"], url, v["video_title"], v["channel_title"],
                        v["video_duration"], v["score"], "matched", v["reason"]])
    root = wd.root
    _write_once(root, T.SONGS, [[r[c] for c in T.SONGS.columns] for r in m.rows("songs")])
    _write_once(root, T.MATCHES, matches)
    if m.rows("splits"):
        for name, table in (("splits", T.SPLITS), *((f"pairs_{s}", t)
                                                    for s, t in T.PAIRS.items())):
            _write_once(root, table, [[r.get(c, "") for c in table.columns]
                                      for r in m.rows(name)])
        # the pair protocol travels with the split (a release older than that recorded
        # none: its pairs were the paper's)
        atomic.write_text(T.SPLIT_INFO.at(root), json.dumps(
            {"protocol": "paper"} if split_info is None else split_info, indent=2,
            sort_keys=True) + "\n")
    return len(matches)


def refuse_workdir_in_release(root: Path, release: Path) -> None:
    """A work directory inside the release folder would write into the release."""
    if inside(release, root):
        raise UserError(f"--workdir {root} is inside the release {release}: a release is "
                        "never written into; rebuild into a work directory of its own")


def _split_record(m: Manifest) -> dict[str, Any]:
    """The manifest's split record, checked (its known keys, a known pair protocol)."""
    from ..vocab import PAIR_PROTOCOLS
    from .provenance import SPLIT_KEYS

    split = m.meta["split"]
    ratios = split.get("ratios", [0.7, 0.1, 0.2]) if isinstance(split, dict) else None
    seed = split.get("seed", 0) if isinstance(split, dict) else None
    if not (isinstance(split, dict) and split.get("protocol", "paper") in PAIR_PROTOCOLS
            and type(seed) is int and 0 <= seed < 2**32
            and isinstance(ratios, list) and len(ratios) == 3
            and all(type(r) in (int, float) and 0 <= r <= 1 for r in ratios)
            and all(isinstance(split.get(k, ""), str) for k in ("music", "images"))):
        raise UserError(f"{m.label}: manifest.json's \"split\" is not a split record (a pair "
                        f"protocol of {', '.join(PAIR_PROTOCOLS)}, a whole seed, three "
                        "ratios); the manifest is damaged or was edited")
    return {k: v for k, v in split.items() if k in SPLIT_KEYS}


def run_rebuild(workdir: Workdir | Path, *, manifest: Path,
                config: RebuildConfig | None = None, allow_missing: bool = False,
                image_root: Path | None = None, cookies: Path | None = None,
                proxy: str | None = None, access: YtdlpAccess | None = None,
                progress: bool = True,
                _download_options: dict[str, Any] | None = None) -> RebuildSummary:
    """Fetch every released segment's audio by video id into ``workdir``, then verify.

    The download runs with the ``jobs``, ``rate`` and ``sleep`` of ``config`` (``rate``
    paces videos an hour across all workers as ``download --rate`` does; 0: unpaced);
    ``cookies``, ``proxy`` and ``access`` reach yt-dlp as download's do.
    ``_download_options`` (internal, tests) replaces ``run_download``'s keywords."""
    from ..config import DownloadConfig
    from ..download.stage import run_download

    config = config or RebuildConfig()
    wd = workdir if isinstance(workdir, Workdir) else Workdir(Path(workdir))
    refuse_workdir_in_release(wd.root, manifest)
    m = Manifest.load(manifest)
    summary = RebuildSummary(manifest=m.label)
    summary.songs = restore_inputs(wd, m)
    # status reads this: the songs came from a release, so nothing is left to search
    update_state(wd.root, rebuilt_from={"release": m.label, "name": m.name,
                                        "version": m.version, "songs": summary.songs})
    options: dict[str, Any] = {
        "config": DownloadConfig(jobs=config.jobs, sleep=config.sleep, rate=config.rate),
        "access": access, **(_download_options or {})}

    def fetch_and_verify(then: str = "") -> None:
        dl = run_download(wd, retry_failed=True, cookies=cookies, proxy=proxy,
                          progress=progress, **options)
        summary.download = dl.to_dict()
        summary.download_lines += [then + line for line in dl.lines()]
        summary.verify = run_verify(wd, m, allow_missing=allow_missing,
                                    image_root=image_root, progress=progress)

    fetch_and_verify()
    # segments of this rebuild found damaged (a disk error, an edit, a kill mid-write)
    # are removed and fetched again, once
    removed = remove_segments(wd, m, summary.verify.invalid_segments)
    if removed:
        log.info("rebuild: %d damaged segment(s) removed; fetching them again", removed)
        fetch_and_verify(f"again after removing {removed} damaged segment(s): ")
    return summary


def remove_segments(wd: Workdir, m: Manifest, segment_ids: list[str]) -> int:
    """Unlink the named segments' files (links and FIFOs included; a folder stays);
    return how many went."""
    rows = {r["segment_id"]: r for r in m.rows("segments")}
    removed = 0
    for sid in segment_ids:
        path = wd.root / segment_path(rows[sid])
        if not inside(wd.root / "audio", path.parent):
            continue
        try:
            path.unlink()
        except OSError:
            continue
        removed += 1
    return removed

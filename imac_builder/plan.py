"""``imac-build plan``: what a build will cost, before a single search is spent.

From the MSD files ``tags`` would read (labelled in a temporary folder: the work
directory is not touched) or from an existing ``tags/songs.csv``: songs labelled per
class, searches needed and days of quota for every search backend, videos and hours at
``--rate``, disk for the audio, the feature stores and the checkpoints, and hours of
features and training on this machine and on a GPU, from the measured figures of
:mod:`imac_builder.measured` (each with its date and machine; GPU figures are targets,
not measurements, until the GPU check has run).
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import measured, tables
from .errors import UserError
from .vocab import LABELS, SEGMENT_SECONDS

#: Backends that spend the YouTube Data API quota (when the registry does not say).
QUOTA_BACKENDS = ("api",)
#: Images of IMAC (paper Table 3: 32,868 + 10,796 + 45,731).
IMAC_IMAGES = 89_395
#: Epochs a training run is planned with (``train --epochs``' default).
EPOCHS = 50


def backends() -> dict[str, bool]:
    """Every search backend the search stage knows, and whether it spends API quota
    (the backend registry, :mod:`imac_builder.search.registry`)."""
    try:
        from .search.registry import BACKENDS
    except ImportError:  # pragma: no cover - a search package without the registry
        from .search.stage import BACKENDS as names

        return {n: n in QUOTA_BACKENDS for n in names}
    return {name: bool(info.uses_quota) for name, info in BACKENDS.items()}


@dataclass
class PlanSummary:
    """Every figure of the plan (``lines`` says them in words)."""

    source: str = ""
    songs: int = 0
    songs_per_label: dict[str, int] = field(default_factory=dict)
    searches: int = 0
    search: dict[str, dict[str, Any]] = field(default_factory=dict)
    rate: float = 0.0
    videos: int = 0
    download_hours: float | None = None
    segments: int = 0
    images: int = 0
    disk_gb: dict[str, float] = field(default_factory=dict)
    cores: int = 1
    hours_here: dict[str, float] = field(default_factory=dict)
    cpu_hours: dict[str, float] = field(default_factory=dict)
    gpu_hours: dict[str, float] = field(default_factory=dict)
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        per = ", ".join(f"{self.songs_per_label.get(lab, 0):,} {lab}" for lab in LABELS)
        out = [f"plan from {self.source}: nothing searched, downloaded or written",
               f"songs labelled: {self.songs:,} ({per})",
               f"search: {self.searches:,} searches"]
        for name, b in self.search.items():
            if b["quota"]:
                n = b["days"]
                days = ("never: the daily quota is below one song's cost" if n is None
                        else f"about {n:,} day{'' if n == 1 else 's'}")
                out.append(f"  {name}: {b['units_per_song']} units a song, "
                           f"{b['songs_per_day']:,} songs a day at {b['daily_quota']:,} "
                           f"units: {days}")
            else:
                out.append(f"  {name}: no quota (bounded by the site's bot checks)")
        hours = "unpaced" if self.download_hours is None else \
            f"about {self.download_hours:,.1f} hours at {self.rate:g} videos an hour"
        out.append(f"download: at most {self.videos:,} videos (every song found), {hours}; "
                   f"about {self.segments:,} segments of {SEGMENT_SECONDS} s")
        d = self.disk_gb
        whose = ", IMAC's count: --images N for yours" if self.images == IMAC_IMAGES else ""
        out.append(f"disk: audio {d['audio']:,.1f} GB, music.h5 {d['music']:,.2f} GB, "
                   f"images.h5 {d['images']:,.2f} GB ({self.images:,} images{whose}), "
                   f"spectrograms.h5 {d['spectrograms']:,.1f} GB and pixels.h5 "
                   f"{d['pixels']:,.1f} GB (baselines only), checkpoints "
                   f"{d['checkpoints']:,.2f} GB a run; {d['total']:,.1f} GB in all")
        h, c, g = self.hours_here, self.cpu_hours, self.gpu_hours
        out.append(f"features and training here ({self.cores} cores): music "
                   f"{h['music']:,.1f} h ({c['music']:,.1f} CPU-hours), images "
                   f"{h['images']:,.1f} h, training {EPOCHS} epochs {h['train']:,.1f} h")
        out.append(f"on a GPU (targets of the GPU check, not measured yet): music "
                   f"{g['music']:,.2f} h, images {g['images']:,.2f} h, training "
                   f"{g['train']:,.2f} h")
        dates = sorted({f["date"] for k, f in self.figures.items() if not k.startswith("gpu_")})
        out.append("figures: imac_builder/measured.py (docs/performance.md), measured "
                   f"{', '.join(dates)} on {measured.CPU_MACHINE}")
        return out


def _songs_from_sources(lastfm: list[Path], metadata: Path | None,
                        exclusions: Path | None) -> list[dict[str, str]]:
    """Label the songs into a temporary folder and read them back."""
    from .config import TagsConfig
    from .tags import run_tags

    with tempfile.TemporaryDirectory(prefix="imac-plan-") as tmp:
        run_tags(Path(tmp), lastfm=list(lastfm), metadata=metadata, progress=False,
                 config=TagsConfig(exclusions=None if exclusions is None
                                   else str(exclusions)))
        return tables.read_table(Path(tmp), tables.SONGS)


def _segments(song: dict[str, str]) -> int:
    """60 s segments a song gives: from its MSD duration, else the download stage's
    assumed length."""
    from .download.inputs import DEFAULT_SECONDS

    try:
        seconds = float(song.get("duration") or "")
    except ValueError:
        seconds = DEFAULT_SECONDS
    if not math.isfinite(seconds) or seconds <= 0:
        seconds = DEFAULT_SECONDS
    return int(seconds // SEGMENT_SECONDS)


def usable_cores() -> int:
    import os

    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run_plan(workdir: Path | None = None, lastfm: list[Path] | None = None,
             metadata: Path | None = None, exclusions: Path | None = None,
             rate: float | None = None, daily_quota: int | None = None, results: int = 10,
             images: int = IMAC_IMAGES, cores: int | None = None,
             subset: Any = None, progress: bool = True) -> PlanSummary:
    """The plan for the songs of ``lastfm`` (with ``metadata``) or of ``workdir``'s
    ``tags/songs.csv``; ``subset`` (a :class:`~imac_builder.subset.SubsetSpec`) plans a
    subset. Nothing is written."""
    from .config import DEFAULT_RATE
    from .download.inputs import FLAC_BYTES_PER_SEGMENT
    from .search.quota import COSTS, DEFAULT_DAILY_QUOTA

    if lastfm:
        songs = _songs_from_sources(list(lastfm), metadata, exclusions)
        source = ", ".join(Path(p).name for p in lastfm) + \
            (f" with {Path(metadata).name}" if metadata else "")
    elif workdir is not None and tables.SONGS.at(workdir).is_file():
        songs = tables.read_table(workdir, tables.SONGS)
        source = str(tables.SONGS.at(workdir))
    else:
        raise UserError("plan needs the MSD files (--lastfm FILE [--metadata FILE]) or a "
                        "work directory whose tags stage has run")
    songs = [s for s in songs if s.get("label") in LABELS]
    if subset is not None and getattr(subset, "given", False):
        from .subset import select

        chosen = set(select(songs, subset)[0])
        songs = [s for s in songs if s["track_id"] in chosen]
        source += " (a subset)"
    rate = DEFAULT_RATE if rate is None else rate
    daily = DEFAULT_DAILY_QUOTA if daily_quota is None else daily_quota
    cores = cores or usable_cores()
    p = PlanSummary(source=source, songs=len(songs), rate=rate, images=images, cores=cores)
    p.songs_per_label = {lab: sum(s["label"] == lab for s in songs) for lab in LABELS}
    p.searches = len(songs)
    units = COSTS["search.list"] * math.ceil(results / 50) + COSTS["videos.list"]
    for name, uses_quota in backends().items():
        if uses_quota:
            per_day = daily // units
            p.search[name] = {"quota": True, "units_per_song": units, "daily_quota": daily,
                              "songs_per_day": per_day,
                              "days": math.ceil(p.searches / per_day) if per_day else None}
        else:
            p.search[name] = {"quota": False}
    p.videos = p.searches
    p.download_hours = round(p.videos / rate, 2) if rate else None
    p.segments = sum(_segments(s) for s in songs)
    runs_mb = measured.value("checkpoint_model_mb") + measured.value("checkpoint_last_mb")
    sb = measured.STORE_BYTES
    disk = {"audio": p.segments * FLAC_BYTES_PER_SEGMENT / 1e9,
            "music": p.segments * sb["music"] / 1e9,
            "images": images * sb["images"] / 1e9,
            "spectrograms": p.segments * sb["spectrograms"] / 1e9,
            "pixels": images * sb["pixels"] / 1e9,
            "checkpoints": runs_mb / 1e3}
    disk["total"] = sum(disk.values())
    p.disk_gb = {k: round(v, 3) for k, v in disk.items()}
    epoch_s = measured.value("train_cpu_s_per_epoch") * images / measured.value(
        "train_bench_images")
    p.hours_here = {
        "music": round(p.segments * measured.value("music_fast_wall_s") / cores / 3600, 3),
        "images": round(images / measured.value("images_cpu_per_s") / 3600, 3),
        "train": round(EPOCHS * epoch_s / 3600, 3)}
    p.cpu_hours = {"music": round(p.segments * measured.value("music_fast_cpu_s") / 3600, 3)}
    g = measured.GPU_TARGETS
    p.gpu_hours = {
        "music": round(p.segments / g["music_segments_per_s"].value / 3600, 4),
        "images": round(images / g["images_per_s"].value / 3600, 4),
        "train": round(g["train_50_epochs_s"].value * EPOCHS / 50 * images / 90_000 / 3600,
                       4)}
    p.figures = {k: asdict(f) for k, f in {**measured.FIGURES, **{
        f"gpu_{k}": f for k, f in g.items()}}.items()}
    return p

"""Real material for the features tests: Debian's free music decoded by ffmpeg, Debian's
photographs, and small work directories laid out as the download and images stages do."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

SR = 22_050
SEGMENT = 1_323_000
MUSIC = (
    Path("/usr/share/games/frozen-bubble/snd/introzik.ogg"),  # frozen-bubble-data
    Path("/usr/share/games/singularity/music/Awakening.ogg"),  # singularity-music
)
MUSIC_DIRS = (Path("/usr/share/games/hyperrogue"), Path("/usr/share/games/singularity"),
              Path("/usr/share/games/frozen-bubble"))
PHOTOS = Path("/usr/share/backgrounds/mate/nature")  # mate-backgrounds
PHOTO_NAMES = ("Garden.jpg", "GreenMeadow.jpg", "FreshFlower.jpg")
SEGMENT_COLUMNS = ("segment_id", "track_id", "video_id", "index", "start", "duration",
                   "path", "sha256", "label")
IMAGE_COLUMNS = ("image_id", "path", "emotion", "label", "sha256", "width", "height",
                 "status", "reason")


def music_files(n: int) -> list[Path]:
    """``n`` real pieces of at least 90 s, or skip saying which packages to install."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    found = [p for p in MUSIC if p.is_file()]
    for d in MUSIC_DIRS:  # any other long piece from the same packages
        if len(found) >= n:
            break
        found += sorted(p for p in d.rglob("*.ogg")
                        if p.stat().st_size > 1_500_000 and p not in found)
    if len(found) < n:
        pytest.skip(f"needs {n} pieces of free music under /usr/share/games (apt-get "
                    "install frozen-bubble-data singularity-music hyperrogue-music)")
    return found[:n]


def decode(path: Path, start: float = 30.0, seconds: float = 60.0) -> np.ndarray:
    """ffmpeg: ``seconds`` of ``path`` from ``start`` as float32 mono at 22,050 Hz, the
    way the download stage stores segments (16-bit)."""
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-ss", str(start), "-t", str(seconds), "-i",
         str(path), "-ac", "1", "-ar", str(SR), "-f", "s16le", "-"],
        check=True, capture_output=True).stdout
    y = np.frombuffer(out, dtype="<i2").astype(np.float32) / 32768.0
    assert y.shape[0] >= int(seconds * SR) - SR // 10, "the piece is shorter than asked"
    y = np.pad(y, (0, max(0, int(seconds * SR) - y.shape[0])))
    return y[:int(seconds * SR)]


def write_segments(root: Path, segments: dict[str, np.ndarray | bytes | None],
                   label: str = "positive", paths: dict[str, str] | None = None) -> None:
    """Write FLAC segments (or raw bytes, or nothing) and download/segments.csv."""
    import soundfile as sf

    rows = []
    for k, (sid, data) in enumerate(sorted(segments.items())):
        track = sid.split("_")[0]
        rel = (paths or {}).get(sid, f"audio/{track}/{sid}.flac")
        if data is not None and not rel.startswith(".."):
            f = root / rel
            f.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(data, bytes):
                f.write_bytes(data)
            else:
                sf.write(f, data, SR, subtype="PCM_16", format="FLAC")
        rows.append((sid, track, "vid00000000", k, 60 * k, 60, rel, f"sha{k}", label))
    (root / "download").mkdir(parents=True, exist_ok=True)
    with (root / "download" / "segments.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(SEGMENT_COLUMNS)
        w.writerows(rows)


def photos(n: int) -> list[Path]:
    if not PHOTOS.is_dir():
        pytest.skip(f"needs photographs in {PHOTOS} (apt-get install mate-backgrounds)")
    found = [PHOTOS / p for p in PHOTO_NAMES if (PHOTOS / p).is_file()]
    if len(found) < n:
        pytest.skip(f"needs {n} of {PHOTO_NAMES} in {PHOTOS}")
    return found[:n]


def write_images(root: Path, image_root: Path, rows: list[tuple[str, str, str, str, str]]
                 ) -> None:
    """images/images.csv with rows (image_id, path, emotion, label, status)."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    with (root / "images" / "images.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(IMAGE_COLUMNS)
        for iid, rel, emo, lab, status in rows:
            w.writerow((iid, rel, emo, lab, "", 1, 1, status, "" if status == "ok" else "x"))


def assert_same_features(ref: np.ndarray, got: np.ndarray, tol: float = 1e-6) -> None:
    """Equal within ``tol`` of each feature group's scale (its largest absolute reference
    value): float32 rounding may differ with BLAS threading, nothing more."""
    from imac_builder.features import music

    for name, sl in music.group_slices().items():
        scale = float(np.abs(ref[..., sl]).max()) or 1.0
        err = float(np.abs(ref[..., sl] - got[..., sl]).max())
        assert err <= tol * scale, f"{name}: max error {err:g} > {tol:g} x {scale:g}"

"""Real music for the download tests: Debian's free game music, re-encoded with ffmpeg.

Sources are installed by ``scripts/setup.sh --dev`` (frozen-bubble-data,
singularity-music, hyperrogue-music); tests skip with the package's name if absent.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

FROZEN = Path("/usr/share/games/frozen-bubble/snd")
SINGULARITY = Path("/usr/share/games/singularity/music")
HYPERROGUE = Path("/usr/share/hyperrogue/music")
PACKAGE = {FROZEN: "frozen-bubble-data", SINGULARITY: "singularity-music",
           HYPERROGUE: "hyperrogue-music"}


@dataclass(frozen=True)
class Song:
    name: str
    path: Path
    content_type: str


def source(folder: Path, name: str) -> Path:
    """A Debian music file, or skip saying which package provides it."""
    p = folder / name
    if not p.is_file():
        pytest.skip(f"needs {p} from the Debian package {PACKAGE[folder]} "
                    "(scripts/setup.sh --dev installs it)")
    return p


def ffmpeg() -> str:
    exe = shutil.which("ffmpeg")
    if exe is None:
        pytest.skip("needs ffmpeg on PATH (apt-get install ffmpeg)")
    return exe


def encode(src: Path, dest: Path, seconds: int, codec: list[str]) -> Path:
    """Cut ``src`` to its first ``seconds`` and re-encode it (argument list, no shell)."""
    subprocess.run([ffmpeg(), "-nostdin", "-v", "error", "-y", "-i", str(src), "-t",
                    str(seconds), "-vn", "-map_metadata", "-1", *codec, str(dest)], check=True)
    return dest


def make_media(folder: Path) -> dict[str, Song]:
    """Vorbis, Opus, MP3 and M4A/AAC songs of 2-3 minutes, plus a 48 s one."""
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "vorbis": Song("vorbis", source(FROZEN, "introzik.ogg"), "audio/ogg"),
        "opus": Song("opus", encode(source(SINGULARITY, "Awakening.ogg"), folder / "a.opus",
                                    125, ["-c:a", "libopus", "-b:a", "64k"]), "audio/ogg"),
        "mp3": Song("mp3", encode(source(HYPERROGUE, "hr3-graveyard.ogg"), folder / "g.mp3",
                                  125, ["-c:a", "libmp3lame", "-b:a", "96k"]), "audio/mpeg"),
        "m4a": Song("m4a", encode(source(HYPERROGUE, "hr3-hell.ogg"), folder / "h.m4a",
                                  130, ["-c:a", "aac", "-b:a", "96k"]), "audio/mp4"),
        "short": Song("short", source(HYPERROGUE, "hr3-crossroads.ogg"), "audio/ogg"),
    }


def track_id(i: int) -> str:
    return f"TRDLTEST{i:010d}"


def write_inputs(root: Path, rows: list[tuple[str, str, str]], durations: dict | None = None,
                 labels: tuple[str, ...] = ("positive", "neutral", "negative")) -> None:
    """Write ``tags/songs.csv`` and ``search/matches.csv`` for (track_id, video_id, url) rows."""
    durations = durations or {}
    (root / "tags").mkdir(parents=True, exist_ok=True)
    (root / "search").mkdir(parents=True, exist_ok=True)
    with open(root / "tags" / "songs.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["track_id", "song_id", "artist_name", "title", "release", "duration",
                    "year", "pos_score", "neu_score", "neg_score", "label", "tags"])
        for i, (tid, _, _) in enumerate(rows):
            w.writerow([tid, "SO", "a", "t", "r", "", "", 1, 0, 0, labels[i % 3], "happy"])
    with open(root / "search" / "matches.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["track_id", "video_id", "url", "video_title", "channel_title",
                    "video_duration", "score", "status", "reason"])
        for tid, vid, url in rows:
            w.writerow([tid, vid, url, "title", "channel", durations.get(tid, ""), 0.9,
                        "matched", ""])
        w.writerow(["TRNOMATCH000000000", "", "", "", "", "", "", "no_match", "none"])


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}

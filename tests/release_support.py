"""A small dataset built end to end with the real stages, for the release tests.

Tags from Last.fm-format JSON (tests/tagdata.py), matches pointing at real music served
on a loopback server (tests/download_media.py), the real download stage, the real images
stage on real photographs, feature stores written with the features stage's writer, and
the real split.
"""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import numpy as np
from download_media import FROZEN, HYPERROGUE, SINGULARITY, ffmpeg, source
from images_support import folder_layout
from loopback import Route
from tagdata import write_json_folder

from imac_builder.config import DownloadConfig, SplitConfig

#: (source folder, file, start second, seconds): distinct clips, one of two segments.
CLIPS = [(FROZEN, "introzik.ogg", 0, 61), (SINGULARITY, "Awakening.ogg", 0, 61),
         (HYPERROGUE, "hr3-graveyard.ogg", 0, 61), (FROZEN, "introzik.ogg", 65, 61),
         (SINGULARITY, "Awakening.ogg", 70, 61), (HYPERROGUE, "hr3-hell.ogg", 0, 125),
         (FROZEN, "introzik.ogg", 130, 61), (SINGULARITY, "Awakening.ogg", 140, 61),
         (HYPERROGUE, "hr3-graveyard.ogg", 62, 61)]
TAGS = ["happy", "calm", "sad"]  # song i gets TAGS[i % 3]: three songs per label
def fast(**settings: object) -> dict:
    """Quick download settings for loopback tests (unpaced, short waits)."""
    base = dict(socket_timeout=2.0, retries=0, rate_limit_wait=0.3, rate=0.0)
    return dict(config=DownloadConfig(**{**base, **settings}), _rate_limit_tries=1)
SEED = 7
FAKE_KEY = "AIza" + "Q" * 35


def tid(i: int) -> str:
    return f"TRRELEASE{i:09d}"


def make_clips(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, (where, name, start, seconds) in enumerate(CLIPS):
        dest = folder / f"clip{i}.mp3"
        subprocess.run([ffmpeg(), "-nostdin", "-v", "error", "-y", "-ss", str(start), "-t",
                        str(seconds), "-i", str(source(where, name)), "-vn", "-map_metadata",
                        "-1", "-ac", "1", "-c:a", "libmp3lame", "-b:a", "64k", str(dest)],
                       check=True)
        out.append(dest)
    return out


def serve(srv, clips: list[Path]) -> None:  # noqa: ANN001 (LoopbackServer)
    for i, clip in enumerate(clips):
        srv.routes[f"/v/{i}"] = Route.file(clip, "audio/mpeg")
    srv.routes["/v/gone"] = Route(b"gone", 404, "text/plain")


def write_tags(root: Path, lastfm: Path) -> None:
    from imac_builder.tags import run_tags

    tracks = [(tid(i), f"Artist {i}", f"Song {i}", [(TAGS[i % 3], 100.0)])
              for i in range(len(CLIPS) + 2)]
    write_json_folder(lastfm, tracks)
    run_tags(root, lastfm=[lastfm], progress=False)


def write_search(root: Path, srv) -> None:  # noqa: ANN001 (LoopbackServer)
    """matches.csv and candidates.jsonl as the search stage writes them: nine matched
    songs, one whose video has vanished, one with no match."""
    (root / "search").mkdir(parents=True, exist_ok=True)
    rows, cands = [], []
    for i in range(len(CLIPS) + 2):
        t = tid(i)
        query = f"Artist {i} Song {i}"
        if i < len(CLIPS) + 1:
            path = f"/v/{i}" if i < len(CLIPS) else "/v/gone"
            rows.append([t, f"vid{i:08d}", srv.url(path), f"Artist {i} - Song {i}",
                         f"Artist {i} - Topic", "", "0.93", "matched", "title and artist"])
        else:
            rows.append([t, "", "", "", "", "", "", "no_match", "no candidate above 0.8"])
        cands.append({"track_id": t, "query": query, "backend": "api",
                      "searched_at": "2026-11-01T00:00:00Z", "candidates": []})
    with open(root / "search" / "matches.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["track_id", "video_id", "url", "video_title", "channel_title",
                    "video_duration", "score", "status", "reason"])
        w.writerows(rows)
    (root / "search" / "candidates.jsonl").write_text(
        "".join(json.dumps(c) + "\n" for c in cands), encoding="utf-8")


def write_images(root: Path) -> None:
    from imac_builder.images import run_images

    files = root / "images" / "files"
    folder_layout(files, per_emotion=2)
    (files / "fear" / "fear_9999.jpg").write_bytes(b"not an image at all" * 10)
    run_images(root, root=files, offline=True, progress=False)


def write_features(root: Path) -> None:
    """Stores with the features stage's writer (random vectors: only ids matter here)."""
    from imac_builder.features.store import write_store

    rng = np.random.default_rng(0)
    with open(root / "download" / "segments.csv", encoding="utf-8", newline="") as fh:
        segs = list(csv.DictReader(fh))
    write_store(root / "features" / "music.h5", rng.normal(size=(len(segs), 193)),
                [s["segment_id"] for s in segs], [s["label"] for s in segs],
                {"track_id": [s["track_id"] for s in segs]},
                {"config": {"engine": "librosa", "params": {"n_mfcc": 40}},
                 "config_hash": "m" * 64}, modality="music")
    with open(root / "images" / "images.csv", encoding="utf-8", newline="") as fh:
        ims = [r for r in csv.DictReader(fh) if r["status"] == "ok"]
    write_store(root / "features" / "images.h5", rng.normal(size=(len(ims), 16)),
                [r["image_id"] for r in ims], [r["label"] for r in ims],
                {"emotion": [r["emotion"] for r in ims]},
                {"config": {"weights": "fid-helper", "size": 224},
                 "weights_sha256": "w" * 64, "config_hash": "i" * 64}, modality="images")


def build(root: Path, scratch: Path, srv) -> None:  # noqa: ANN001 (LoopbackServer)
    """Every stage the release reads, into ``root``."""
    from imac_builder.download import run_download
    from imac_builder.train.split import run_split

    serve(srv, make_clips(scratch / "clips"))
    write_tags(root, scratch / "lastfm")
    write_search(root, srv)
    summary = run_download(root, progress=False, **fast(jobs=2))
    assert summary.ok == len(CLIPS), summary.lines()
    write_images(root)
    write_features(root)
    run_split(root, progress=False,
              config=SplitConfig(seed=SEED, protocol="paper"))  # too few items to balance


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))

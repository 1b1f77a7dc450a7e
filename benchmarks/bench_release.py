"""Benchmark ``verify``: checking every segment of a release against a work directory.

Cuts real music (Debian's frozen-bubble-data, singularity-music, hyperrogue-music) into
60 s FLAC segments as the download stage does, copies them to ``--segments`` segments,
then checks them, one after the other:

* ours:      ``imac_builder.release.run_verify`` (soundfile decodes FLAC in threads,
             sha256 of the samples);
* reference: the straightforward way: ``ffmpeg`` decodes each FLAC to 16-bit PCM on a
             pipe and ``sha256sum``-style hashing in Python, one file after the other.

Both compute the same hashes (checked). Prints wall time, segments per second, ratio.

    python benchmarks/bench_release.py [--segments 60] [--jobs 2] [--out DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

SOURCES = [Path("/usr/share/games/frozen-bubble/snd/introzik.ogg"),
           Path("/usr/share/games/singularity/music/Awakening.ogg"),
           Path("/usr/share/hyperrogue/music/hr3-hell.ogg")]


def make_segments(root: Path, n: int) -> list[dict[str, str]]:
    from imac_builder.download.decode import decode_mono, pcm_sha256, split_segments, write_flac

    base = []
    for src in SOURCES:
        if not src.is_file():
            raise SystemExit(f"needs {src} (Debian music packages)")
        for seg in split_segments(decode_mono(src)):
            base.append(seg)
    rows = []
    for i in range(n):
        tid = f"TRBENCH{i:011d}"
        sid = f"{tid}_000"
        path = root / "audio" / tid / f"{sid}.flac"
        path.parent.mkdir(parents=True, exist_ok=True)
        seg = base[i % len(base)]
        if i < len(base):
            write_flac(path, seg)
        else:
            shutil.copy(root / "audio" / f"TRBENCH{i % len(base):011d}" /
                        f"TRBENCH{i % len(base):011d}_000.flac", path)
        rows.append({"segment_id": sid, "track_id": tid, "sha256": pcm_sha256(seg)})
    return rows


def reference(root: Path, rows: list[dict[str, str]]) -> int:
    from imac_builder.download.decode import ffmpeg_binary

    ffmpeg, ok = ffmpeg_binary(), 0
    for r in rows:
        path = root / "audio" / r["track_id"] / f"{r['segment_id']}.flac"
        pcm = subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-i", str(path), "-f",
                              "s16le", "-acodec", "pcm_s16le", "-"], capture_output=True,
                             check=True).stdout
        ok += hashlib.sha256(pcm).hexdigest() == r["sha256"]
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--segments", type=int, default=60)
    ap.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1))
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    from imac_builder.release import Manifest, run_verify

    root = args.out or Path(tempfile.mkdtemp(prefix="bench-release-"))
    rows = make_segments(root, args.segments)
    manifest = Manifest(root, {"name": "bench", "version": "1.0.0"}, {"segments": rows})

    t = time.perf_counter()
    s = run_verify(root, manifest, jobs=args.jobs, progress=False)
    ours = time.perf_counter() - t
    assert s.ok == len(rows) and not s.failed, s.lines()
    t = time.perf_counter()
    assert reference(root, rows) == len(rows)
    ref = time.perf_counter() - t
    n = len(rows)
    print(f"{n} segments of 60 s, {os.cpu_count()} cores")
    print(f"ours (run_verify, {args.jobs} threads): {ours:7.2f} s  {n / ours:7.1f} segments/s")
    print(f"reference (ffmpeg pipe, serial): {ref:7.2f} s  {n / ref:7.1f} segments/s")
    print(f"ratio reference/ours: {ref / ours:.2f}x")
    if args.out is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

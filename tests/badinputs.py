"""A corpus of bad inputs for every stage, built once per test session.

Audio: real music (Debian's free game music decoded by ffmpeg) written in many formats,
plus truncated, corrupt, empty and silent files and songs of exactly 60 s and 59.99 s.
Images: real photographs plus truncated, corrupt, empty, 1x1 and absurdly large-declared
files. Tags: strings with every Unicode oddity. Each entry says what the stage should do
with it ("ok" or a failure), so the tests check outcomes, not just the absence of crashes.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ODD_STRINGS = {
    "rtl": "\u202eevil\u202c \u200fمرحبا\u200f \u05e9\u05dc\u05d5\u05dd",
    "emoji": "😀🎵👩‍👩‍👧‍👦🏳️‍🌈 Happy",
    "nul": "nul\x00inside",
    "long": "x" * 10_000,
    "combining": "e\u0301\u0301\u0301 Zalgo\u0336\u0336",
    "controls": "tab\there\rcr\x1bescape\x7f",
    "surrogates_lookalike": "\ufeffBOM\u2028line\u2029para",
    "newline": 'quote"comma,new\nline',
}


@dataclass(frozen=True)
class BadAudio:
    """One audio file and what the download stage must record for it."""

    name: str
    path: Path
    content_type: str
    expect: str  # a download ledger status ("ok", "too_short", "invalid_media")
    segments: int = 0


def music_source() -> Path:
    from features_support import music_files

    return music_files(1)[0]


def pcm(src: Path, rate: int, channels: int, seconds: float, start: float = 5.0
        ) -> np.ndarray:
    """``seconds`` of real music as float32 (frames, channels) at ``rate``, via ffmpeg."""
    out = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-ss", str(start), "-t",
                          str(seconds), "-i", str(src), "-ac", str(channels), "-ar", str(rate),
                          "-f", "f32le", "-"], check=True, capture_output=True).stdout
    y = np.frombuffer(out, dtype="<f4").reshape(-1, channels)
    n = int(round(seconds * rate))
    return np.pad(y, ((0, max(0, n - len(y))), (0, 0)))[:n]


#: (name, rate, channels, soundfile subtype, container): every dimension of the issue.
FORMATS = [("u8_8k_mono", 8000, 1, "PCM_U8", "WAV"),
           ("s16_11k_stereo", 11025, 2, "PCM_16", "WAV"),
           ("s16_8k_6ch", 8000, 6, "PCM_16", "WAV"),
           ("s24_96k_mono", 96000, 1, "PCM_24", "FLAC"),
           ("s32_16k_mono", 16000, 1, "PCM_32", "WAV"),
           ("float_22k_mono", 22050, 1, "FLOAT", "WAV"),
           ("s16_44k_stereo", 44100, 2, "PCM_16", "FLAC")]


def make_audio(folder: Path) -> list[BadAudio]:
    """Every audio case; ok ones are 61 s (one segment) unless said otherwise."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    src = music_source()
    ctype = {"WAV": "audio/wav", "FLAC": "audio/flac"}
    out = []
    for name, rate, ch, subtype, fmt in FORMATS:
        p = folder / f"{name}.{fmt.lower()}"
        sf.write(p, pcm(src, rate, ch, 61.0), rate, subtype=subtype, format=fmt)
        out.append(BadAudio(name, p, ctype[fmt], "ok", 1))
    exact = pcm(src, 22050, 1, 60.0)
    sf.write(folder / "exactly_60s.wav", exact, 22050, subtype="PCM_16")
    out.append(BadAudio("exactly_60s", folder / "exactly_60s.wav", "audio/wav", "ok", 1))
    sf.write(folder / "short_59.99s.wav", exact[: int(59.99 * 22050)], 22050, subtype="PCM_16")
    out.append(BadAudio("short_59.99s", folder / "short_59.99s.wav", "audio/wav", "too_short"))
    sf.write(folder / "silence_61s.wav", np.zeros((61 * 22050, 1), np.float32), 22050,
             subtype="PCM_16")
    out.append(BadAudio("silence_61s", folder / "silence_61s.wav", "audio/wav", "ok", 1))
    good_flac = (folder / "s16_44k_stereo.flac").read_bytes()
    (folder / "truncated.flac").write_bytes(good_flac[: len(good_flac) // 3])
    out.append(BadAudio("truncated", folder / "truncated.flac", "audio/flac", "too_short"))
    rng = np.random.default_rng(0)
    (folder / "corrupt.mp3").write_bytes(b"ID3\x03\x00" + rng.bytes(50_000))
    out.append(BadAudio("corrupt", folder / "corrupt.mp3", "audio/mpeg", "invalid_media"))
    (folder / "header_only.wav").write_bytes((folder / "exactly_60s.wav").read_bytes()[:44])
    out.append(BadAudio("header_only", folder / "header_only.wav", "audio/wav", "*"))
    (folder / "zero.mp3").write_bytes(b"")
    out.append(BadAudio("zero_length", folder / "zero.mp3", "audio/mpeg", "*"))
    return out


@dataclass(frozen=True)
class BadImage:
    name: str
    data: bytes
    ext: str
    expect: str  # images.csv status ("ok" or a failure status); "*" any failure


def make_images() -> list[BadImage]:
    import io

    from images_support import bomb_png, jpeg_bytes, photos, rgb16_png
    from PIL import Image

    ims = photos(3)
    good = jpeg_bytes(ims[0])

    def png(im) -> bytes:  # noqa: ANN001
        buf = io.BytesIO()
        im.save(buf, "PNG")
        return buf.getvalue()

    cmyk = io.BytesIO()
    ims[2].convert("CMYK").save(cmyk, "JPEG")
    return [
        BadImage("good_a", good, "jpg", "ok"),
        BadImage("good_b", jpeg_bytes(ims[1]), "jpg", "ok"),
        BadImage("cmyk", cmyk.getvalue(), "jpg", "ok"),
        BadImage("rgb16", rgb16_png(ims[1]), "png", "ok"),
        BadImage("truncated", good[: len(good) // 3], "jpg", "*"),
        BadImage("corrupt", b"\xff\xd8\xff\xe0" + bytes(range(256)) * 20, "jpg", "*"),
        BadImage("zero_length", b"", "jpg", "*"),
        BadImage("one_pixel", png(Image.new("RGB", (1, 1), (200, 10, 10))), "png", "*"),
        BadImage("bomb", bomb_png(), "png", "*"),
        BadImage("html", b"<html><body>Photo removed</body></html>", "jpg", "*"),
    ]


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Fail (instead of hanging) if the block runs past ``seconds`` (main thread only)."""
    def expired(*_: object) -> None:
        raise TimeoutError(f"still running after {seconds:g} s: a hang")

    old = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def one_clean_line(result) -> str:  # noqa: ANN001 (click Result)
    """The CLI's error output: assert it is one line and no traceback; return it."""
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    text = result.output.strip()
    assert "Traceback" not in text and "internal error" not in text, text
    assert len(text.splitlines()) == 1, text
    return text

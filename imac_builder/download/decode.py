"""Decode a downloaded file once with ffmpeg and cut it into exact 60 s segments (spec §3).

ffmpeg runs as a subprocess with an argument list (never a shell string); the binary is
the one on ``PATH`` or, failing that, the one shipped by ``imageio-ffmpeg``.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UserError

if TYPE_CHECKING:
    import numpy as np

from ..vocab import SAMPLE_RATE, SEGMENT_SAMPLES

log = logging.getLogger(__name__)



class DecodeError(Exception):
    """ffmpeg could not decode the file (not audio, no audio stream, corrupt)."""


class TooShort(Exception):
    """The audio is shorter than one segment."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"audio is {seconds:.1f} s long")
        self.seconds = seconds


def ffmpeg_binary() -> str:
    """The ffmpeg executable: ``PATH`` first, then the ``imageio-ffmpeg`` wheel."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg
    except ImportError:
        imageio_ffmpeg = None
    if imageio_ffmpeg is not None:
        try:
            return imageio_ffmpeg.get_ffmpeg_exe()
        except RuntimeError:
            pass
    raise UserError("ffmpeg not found: install it (apt-get install ffmpeg) or "
                    "pip install imageio-ffmpeg")


def decode_command(ffmpeg: str, path: Path, out: Path) -> list[str]:
    """The ffmpeg argument list that decodes ``path`` to mono 22,050 Hz s16le in ``out``."""
    return [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-i", f"file:{Path(path).resolve()}", "-map", "0:a:0", "-vn", "-sn", "-dn",
            "-ac", "1", "-ar", str(SAMPLE_RATE), "-acodec", "pcm_s16le", "-f", "s16le",
            f"file:{Path(out).resolve()}"]


def decode_mono(path: Path, ffmpeg: str | None = None) -> np.ndarray:
    """Decode ``path`` to a mono 22,050 Hz int16 array; :class:`DecodeError` if it is not audio.

    ffmpeg writes raw PCM to a scratch file beside ``path`` (removed afterwards): about
    25% faster than reading it from a pipe, and as fast as decoding to /dev/null.
    """
    import numpy as np

    path = Path(path)
    scratch = path.with_name(f".{path.name}.pcm")
    try:
        proc = subprocess.run(decode_command(ffmpeg or ffmpeg_binary(), path, scratch),
                              stdin=subprocess.DEVNULL, capture_output=True, check=False)
        resolved = str(path.resolve())
        err = proc.stderr.decode("utf-8", "replace").strip()
        err = err.replace(f"file:{resolved}", path.name).replace(resolved, path.name)
        if proc.returncode != 0:
            last = err.splitlines()[-1] if err else f"exit status {proc.returncode}"
            if "matches no streams" in err:
                last = "the file has no audio stream"
            raise DecodeError(last)
        if err:
            log.warning("ffmpeg warnings for %s: %s", path, err.splitlines()[-1])
        samples = np.fromfile(scratch, dtype="<i2")
    finally:
        scratch.unlink(missing_ok=True)
    if samples.size == 0:
        raise DecodeError("ffmpeg decoded no audio samples")
    return samples


def split_segments(samples: np.ndarray) -> list[np.ndarray]:
    """Non-overlapping 1,323,000-sample views from t = 0; a shorter tail is dropped."""
    n = samples.size // SEGMENT_SAMPLES
    if n == 0:
        raise TooShort(samples.size / SAMPLE_RATE)
    return [samples[k * SEGMENT_SAMPLES:(k + 1) * SEGMENT_SAMPLES] for k in range(n)]


def pcm_sha256(segment: np.ndarray) -> str:
    """sha256 of the 16-bit little-endian PCM samples (independent of the FLAC encoder)."""
    import numpy as np

    return hashlib.sha256(np.ascontiguousarray(segment, dtype="<i2").tobytes()).hexdigest()


def write_flac(path: Path, segment: np.ndarray) -> None:
    """Write one segment as 16-bit mono FLAC (lossless: reading it back gives the samples)."""
    import soundfile

    soundfile.write(str(path), segment, SAMPLE_RATE, subtype="PCM_16", format="FLAC")

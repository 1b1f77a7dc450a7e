"""Log-spectrograms of the 60 s segments for the baselines of paper Table 4.

The paper: "spectrograms were created by performing short-time Fourier transform with a
window size of 100 ms and a hop length of 25 ms". At 22,050 Hz (spec §3) that is a
2,205-sample Hann window (n_fft 2,205, 1,103 bins) and a 551-sample hop (24.99 ms),
centred frames, so a segment gives 2,402 frames. The power of the 1,103 bins is averaged
into ``BANDS`` = 128 linearly spaced bands of 86 Hz (keeping every bin would make the
IMAC store 20 GB instead of 10 GB, and L3-Net's own input has 257 bands), and stored in
decibels, ``10 log10(power + 1e-10)``, as float16 (0.03 dB resolution at 60 dB):
``features/spectrograms.h5``, ``data`` N × 128 × 2,402.

How each model sees a segment is the training side's choice (``imac_builder.train``):
Spectrogram-ACP averages the dB values over 60 one-second blocks (a 128 × 60 image,
flattened to 7,680 inputs of the 4-FC music subnet); L3-Net takes 1 s crops (128 × 40).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..vocab import SAMPLE_RATE as SR
from ..vocab import SEGMENT_SAMPLES

WINDOW = 2205  # 100 ms at 22,050 Hz
HOP = 551  # 25 ms
BANDS = 128
N_FRAMES = 1 + SEGMENT_SAMPLES // HOP  # 2402, centred frames
FRAMES_PER_SECOND = SR / HOP  # 40.02
PARAMS = {"sr": SR, "n_fft": WINDOW, "win_length": WINDOW, "hop_length": HOP,
          "window": "hann", "center": True, "pad_mode": "constant", "bands": BANDS,
          "band_scale": "linear, power mean", "db": "10*log10(power+1e-10)",
          "dtype": "float16"}


def band_edges(n_bins: int = WINDOW // 2 + 1, bands: int = BANDS) -> np.ndarray:
    """First bin of each band (and the end): equal-width linear bands."""
    return np.linspace(0, n_bins, bands + 1).round().astype(np.int64)


def log_spectrogram(y: np.ndarray, bands: int = BANDS) -> np.ndarray:
    """``bands × frames`` dB spectrogram (float32) of mono audio at 22,050 Hz.

    The frames are exactly ``librosa.stft(y, n_fft=2205, hop_length=551, center=True,
    pad_mode="constant")`` (periodic Hann window); scipy's FFT on a strided frame view
    computes them 40 times faster than librosa does for this non-power-of-two size.
    """
    import scipy.fft
    import scipy.signal

    y = np.asarray(y, dtype=np.float32)
    padded = np.pad(y, (WINDOW // 2, WINDOW // 2))
    frames = np.lib.stride_tricks.sliding_window_view(padded, WINDOW)[::HOP]
    window = scipy.signal.get_window("hann", WINDOW, fftbins=True).astype(np.float32)
    spec = scipy.fft.rfft(frames * window, axis=1, workers=1)  # frames × bins
    power = (spec.real.astype(np.float64) ** 2 + spec.imag.astype(np.float64) ** 2).T
    edges = band_edges(power.shape[0], bands)
    pooled = np.add.reduceat(power, edges[:-1], axis=0) / np.diff(edges)[:, None]
    return (10.0 * np.log10(pooled + 1e-10)).astype(np.float32)


def segment_spectrogram(path: Path) -> np.ndarray:
    """The stored array of one segment file (float16, 128 × 2,402); FeatureError if bad."""
    from .music import load_segment

    return log_spectrogram(load_segment(path)).astype(np.float16)


def library_versions() -> dict[str, str]:
    from .music import library_versions as versions

    return versions()


def run_spectrograms(workdir: Any, jobs: int = 1, force: bool = False,
                     progress: bool = True) -> Any:
    """``features/spectrograms.h5`` from ``download/segments.csv`` (every segment, the same
    ids as ``features/music.h5``); returns the features stage's ``ModalitySummary``."""
    from ..workdir import Workdir
    from .arrays import build_array_store
    from .inputs import music_items

    wd = workdir if isinstance(workdir, Workdir) else Workdir(Path(workdir))
    config = {"modality": "spectrograms", "extractor": "log-spectrogram (paper §4: 100 ms "
              "window, 25 ms hop)", "params": PARAMS, "versions": library_versions()}
    return build_array_store(wd, "spectrograms", music_items(wd), wd.root,
                             segment_spectrogram, (BANDS, N_FRAMES), np.float16, config,
                             force=force, jobs=jobs, progress=progress)


def build(wd: Any, opts: Any) -> Any:
    """The registry's builder (``features --modality spectrograms``)."""
    return run_spectrograms(wd, jobs=opts.jobs, force=opts.force, progress=opts.progress)

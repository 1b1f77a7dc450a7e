"""The paper's 193-d music features (spec §5): engines behind one interface.

Definition (``reference``): a 60 s segment at 22,050 Hz is cut into 11 windows of 10 s
with a 5 s hop; per window plain librosa computes ``mfcc(n_mfcc=40)``, ``S=|stft|``,
``chroma_stft(S=S)``, ``spectral_contrast(S=S)``, ``tonnetz(y=effects.harmonic(y))`` and
``melspectrogram`` (power, 128 bands), each averaged over its frames; the segment's
vector is the mean of its window vectors (averages in float64, stored as float32).

``fast`` computes the same numbers in a different order: one STFT per window shared by
MFCC, mel, chroma, contrast and the harmonic/percussive split (the recipe computes it
four times), an exact sliding median (numba) instead of ``scipy.ndimage.median_filter``,
the tuning estimate (piptrack) evaluated only on the bins it can report, and one batched
constant-Q transform for all windows that share a tuning estimate (the
filter bank is built once instead of per window). Each step calls the same librosa
functions on the same inputs, so the results match the reference to float32 rounding.

``torch`` (:mod:`.music_torch`) is the same recipe batched on a device, within 1e-3.

Silence: a silent window gives finite values by construction (MFCC of the -100 dB floor,
zero chroma, contrast, tonnetz and mel); a segment whose vector is not finite anyway is
rejected with ``FeatureError("non_finite")`` instead of being stored.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..vocab import SAMPLE_RATE, SEGMENT_SAMPLES

log = logging.getLogger(__name__)

SR = SAMPLE_RATE
WINDOW_SAMPLES = 220_500  # 10 s
HOP_SAMPLES = 110_250  # 5 s
N_WINDOWS = 1 + (SEGMENT_SAMPLES - WINDOW_SAMPLES) // HOP_SAMPLES  # 11
GROUPS: tuple[tuple[str, int], ...] = (("mfcc", 40), ("chroma", 12), ("contrast", 7),
                                       ("tonnetz", 6), ("mel", 128))
N_FEATURES = sum(n for _, n in GROUPS)  # 193
CHROMA_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
TONNETZ_NAMES = ("fifth_x", "fifth_y", "minor_x", "minor_y", "major_x", "major_y")
ENGINES = ("reference", "fast", "torch")

#: The recipe's parameters (librosa defaults written out), recorded in the store.
PARAMS = {
    "sr": SR, "segment_samples": SEGMENT_SAMPLES, "window_samples": WINDOW_SAMPLES,
    "hop_samples": HOP_SAMPLES, "n_windows": N_WINDOWS, "n_fft": 2048, "hop_length": 512,
    "n_mfcc": 40, "n_mels": 128, "n_chroma": 12, "contrast_bands": 6,
    "hpss_kernel": 31, "hpss_margin": 1.0, "cqt_bins_per_octave": 36, "cqt_octaves": 7,
    "frame_aggregate": "mean", "window_aggregate": "mean",
}


class FeatureError(Exception):
    """A segment that cannot give features; ``reason`` is one word for the failure table."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def column_names() -> list[str]:
    """The 193 column names in the paper's order."""
    return ([f"mfcc_{i:02d}" for i in range(40)] + [f"chroma_{c}" for c in CHROMA_NAMES]
            + [f"contrast_{i}" for i in range(7)] + [f"tonnetz_{n}" for n in TONNETZ_NAMES]
            + [f"mel_{i:03d}" for i in range(128)])


def group_slices() -> dict[str, slice]:
    """Each feature group's columns."""
    out, start = {}, 0
    for name, n in GROUPS:
        out[name] = slice(start, start + n)
        start += n
    return out


def windows(y: np.ndarray) -> np.ndarray:
    """The 11 overlapping 10 s windows of a segment, as an (11, 220500) float32 array."""
    starts = np.arange(N_WINDOWS) * HOP_SAMPLES
    return np.stack([y[s:s + WINDOW_SAMPLES] for s in starts]).astype(np.float32, copy=False)


def _frame_mean(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).mean(axis=-1)


def _finish(per_window: np.ndarray) -> np.ndarray:
    """Mean over windows; refuse non-finite results."""
    vec = per_window.mean(axis=0)
    if not np.all(np.isfinite(vec)):
        raise FeatureError("non_finite", "features are not finite")
    return vec.astype(np.float32)


@contextmanager
def _filters_cached() -> Iterator[None]:
    prev = getattr(_FILTERS_ON, "on", False)
    _FILTERS_ON.on = True
    try:
        yield
    finally:
        _FILTERS_ON.on = prev


@contextmanager
def _quiet() -> Iterator[None]:
    """librosa warns on empty tuning sets (silence); the result is defined, so hush it."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*empty frequency set.*")
        yield


# --------------------------------------------------------------------------- reference

def reference_window(y: np.ndarray, sr: int = SR) -> np.ndarray:
    """The recipe on one window, literally as spec §5 writes it (plain librosa)."""
    import librosa

    with _quiet():
        mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=40)
        S = np.abs(librosa.stft(y))
        chroma = librosa.feature.chroma_stft(S=S, sr=sr)
        contrast = librosa.feature.spectral_contrast(S=S, sr=sr)
        tonnetz = librosa.feature.tonnetz(y=librosa.effects.harmonic(y), sr=sr)
        mel = librosa.feature.melspectrogram(y=y, sr=sr)
    return np.concatenate([_frame_mean(m) for m in (mfcc, chroma, contrast, tonnetz, mel)])


def warm_up() -> None:
    """Compile librosa's numba kernels in this process before worker processes start.

    numba caches a gufunc (librosa's piptrack and local-maximum kernels) as two files
    written one after the other; workers compiling them at once on a fresh install can
    leave a pair from two processes, and a later run then crashes with a segmentation
    fault (numba issue #10128, librosa issue #1998). Compiled once here, the workers
    only read the cache. Without librosa (a Dask client that only submits) it does
    nothing."""
    try:
        import librosa
    except ImportError:
        return
    y = np.random.default_rng(0).standard_normal(SR).astype(np.float32) * 0.1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # 1 s is short for the CQT: only kernels count
            reference_window(y)  # librosa's gufuncs (piptrack, local maxima)
            harmonic_from_stft(librosa.stft(y), y.shape[-1])  # the fast engine's median
    except Exception as e:  # a cache damaged on disk: unpickling or loading fails
        from ..errors import UserError

        raise UserError(f"numba's compiled-code cache looks damaged ({type(e).__name__}: "
                        f"{str(e)[:120]}); delete the *.nbi and *.nbc files under "
                        f"{Path(librosa.__file__).parent} and {Path(__file__).parent} (or "
                        "set NUMBA_CACHE_DIR to an empty folder) and run again") from None


def reference_segment(y: np.ndarray) -> np.ndarray:
    """193 features of one 60 s segment by the reference recipe."""
    return _finish(np.stack([reference_window(w) for w in windows(y)]))


# --------------------------------------------------------------------------- fast

_MEDIAN_KERNEL = None


def _median_kernel() -> Callable[[np.ndarray, int], np.ndarray]:
    """Compile (once, cached on disk) an exact sliding median along the last axis.

    Boundary handling is scipy.ndimage's ``mode="reflect"`` (``d c b a | a b c d``).
    The window lives in a ring buffer with each element's rank (ties broken by
    position); one step updates every rank with two comparisons, branch-free, and the
    median is the element of rank ``half``.
    """
    global _MEDIAN_KERNEL
    if _MEDIAN_KERNEL is not None:
        return _MEDIAN_KERNEL
    import numba

    @numba.njit(cache=True, nogil=True)
    def median_rows(x: np.ndarray, half: int) -> np.ndarray:
        rows, n = x.shape
        w = 2 * half + 1
        src = np.empty(n + 2 * half, dtype=np.int64)  # reflected index of each padded slot
        for j in range(n + 2 * half):
            m = (j - half) % (2 * n)
            src[j] = m if m < n else 2 * n - 1 - m
        out = np.empty_like(x)
        vals = np.empty(w, dtype=x.dtype)
        rank = np.empty(w, dtype=np.int32)
        for r in range(rows):
            for k in range(w):
                vals[k] = x[r, src[k]]
            for k in range(w):  # slot k holds padded position k
                c = 0
                for j in range(w):
                    c += (vals[j] < vals[k]) | ((vals[j] == vals[k]) & (j < k))
                rank[k] = c
            for k in range(w):
                if rank[k] == half:
                    out[r, 0] = vals[k]
            s = 0  # slot of the oldest element
            for i in range(1, n):
                old = vals[s]
                new = x[r, src[i + w - 1]]  # the newest: after every equal value
                c = 0
                for k in range(w):
                    v = vals[k]
                    rank[k] += np.int32(new < v) - np.int32(old <= v)
                    c += np.int32(v <= new)
                vals[s] = new
                rank[s] = c - np.int32(old <= new)
                med = vals[0]
                for k in range(w):
                    if rank[k] == half:
                        med = vals[k]
                out[r, i] = med
                s = s + 1 if s + 1 < w else 0
        return out

    _MEDIAN_KERNEL = median_rows
    return median_rows


def median_filter_axis(x: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Same values as ``scipy.ndimage.median_filter`` with a 1-D kernel on ``axis`` of a
    2-D array (mode "reflect"), computed by the sliding-median kernel."""
    if x.shape[axis] < size:  # tiny arrays (never a 10 s window): scipy directly
        import scipy.ndimage

        shape = [1, 1]
        shape[axis] = size
        return scipy.ndimage.median_filter(x, size=shape, mode="reflect")
    kernel = _median_kernel()
    if not np.all(np.isfinite(x)):
        raise FeatureError("non_finite", "spectrogram is not finite")
    if axis in (-1, 1):
        return kernel(np.ascontiguousarray(x), size // 2)
    return np.ascontiguousarray(kernel(np.ascontiguousarray(x.T), size // 2).T)


def _pip_range() -> tuple[int, int]:
    """FFT bins piptrack can report (150 Hz <= f < 4000 Hz, its defaults)."""
    import librosa

    f = librosa.fft_frequencies(sr=SR, n_fft=2048)
    inside = np.flatnonzero((150.0 <= f) & (f < 4000.0))
    return int(inside[0]), int(inside[-1]) + 1


def estimate_tuning_fast(S: np.ndarray, bins_per_octave: int) -> float:
    """``librosa.estimate_tuning(S=S, sr=22050, bins_per_octave=...)`` for a magnitude
    spectrogram, computing piptrack only on the bins it can report (and their two
    neighbours) with the same float operations, so the peaks, their interpolated
    frequencies and magnitudes, and hence the tuning, are identical."""
    import librosa

    lo, hi = _pip_range()
    ref = 0.1 * np.max(S, axis=-2, keepdims=True)
    X = S[lo - 1:hi + 1]
    T = X * (X > ref)
    peak = (T[1:-1] > T[:-2]) & (T[1:-1] >= T[2:])  # librosa.util.localmax
    rows, cols = np.nonzero(peak)
    nxt, prv, cur = X[2:][rows, cols], X[:-2][rows, cols], X[1:-1][rows, cols]
    # librosa's parabolic-interpolation stencil (typed by numba as float64)
    a = (nxt + prv).astype(np.float64) - 2 * cur.astype(np.float64)
    b = (nxt - prv).astype(np.float64) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(np.abs(b) >= np.abs(a), 0.0, -b / a).astype(S.dtype)
    avg = (nxt - prv) / 2.0  # np.gradient inside the array
    pitch = (((rows + lo) + shift) * float(SR) / 2048).astype(S.dtype)
    mag = cur + 0.5 * avg * shift
    keep = pitch > 0
    threshold = np.median(mag[keep]) if keep.any() else 0.0
    return float(librosa.pitch_tuning(pitch[(mag >= threshold) & keep],
                                      resolution=0.01, bins_per_octave=bins_per_octave))


_FILTERS: dict[tuple, tuple] = {}
_FILTERS_MAX = 2048
_FILTERS_ON = threading.local()
_FILTERS_LOCK = threading.Lock()


def _key(value: object) -> object:
    if isinstance(value, np.ndarray):
        return ("nd", value.dtype.str, value.shape, value.tobytes())
    try:
        hash(value)
    except TypeError:
        return ("repr", repr(value))
    return value


def _install_filter_cache() -> None:
    """Memoise librosa's constant-Q filter bank (``constantq.__vqt_filter_fft``).

    librosa builds the same filters for every window with the same tuning; the fast
    engine builds each bank once per process. The wrapper returns a copy (``vqt``
    rescales the bank in place) and is active only inside :func:`fast_segment`, so the
    reference engine stays plain librosa. Same inputs, same function: same filters.
    """
    from librosa.core import constantq

    name = "__vqt_filter_fft"
    orig = constantq.__dict__[name]
    if getattr(orig, "_imac_cached", False):
        return

    def cached(*args: object, **kwargs: object) -> tuple:
        if not getattr(_FILTERS_ON, "on", False):
            return orig(*args, **kwargs)
        key = (tuple(_key(a) for a in args),
               tuple(sorted((k, _key(v)) for k, v in kwargs.items())))
        hit = _FILTERS.get(key)
        if hit is None:
            hit = orig(*args, **kwargs)
            with _FILTERS_LOCK:
                if len(_FILTERS) >= _FILTERS_MAX:
                    _FILTERS.pop(next(iter(_FILTERS)))
                _FILTERS[key] = hit
        basis, n_fft, lengths = hit
        return basis.copy(), n_fft, np.array(lengths, copy=True)

    cached._imac_cached = True  # type: ignore[attr-defined]
    setattr(constantq, name, cached)


def harmonic_from_stft(D: np.ndarray, n: int) -> np.ndarray:
    """``librosa.effects.harmonic`` given the window's STFT (same steps as librosa's
    ``decompose.hpss``: magphase, median filters, soft mask with power 2, istft)."""
    import librosa

    S, phase = librosa.magphase(D)
    harm = median_filter_axis(S, 31, axis=-1)
    perc = median_filter_axis(S, 31, axis=-2)
    mask = librosa.util.softmask(harm, perc * 1.0, power=2.0, split_zeros=True)
    return librosa.istft((S * mask) * phase, dtype=np.float32, n_fft=2048, hop_length=512,
                         length=n)


def fast_segment(y: np.ndarray) -> np.ndarray:
    """193 features of one 60 s segment by the fast engine (same numbers as reference)."""
    import librosa

    _install_filter_cache()
    with _quiet(), _filters_cached():
        ws = windows(y)
        head = np.empty((N_WINDOWS, 40 + 12 + 7), dtype=np.float64)
        mel_means = np.empty((N_WINDOWS, 128), dtype=np.float64)
        harmonics = np.empty_like(ws)
        tunings = np.empty(N_WINDOWS)
        for k, w in enumerate(ws):
            D = librosa.stft(w)
            S = np.abs(D)
            mel = librosa.feature.melspectrogram(S=S ** 2.0, sr=SR)
            mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=40)
            chroma = librosa.feature.chroma_stft(S=S, sr=SR,
                                                 tuning=estimate_tuning_fast(S, 12))
            contrast = librosa.feature.spectral_contrast(S=S, sr=SR)
            head[k] = np.concatenate([_frame_mean(mfcc), _frame_mean(chroma),
                                      _frame_mean(contrast)])
            mel_means[k] = _frame_mean(mel)
            harmonics[k] = harmonic_from_stft(D, w.shape[-1])
            tunings[k] = estimate_tuning_fast(np.abs(librosa.stft(harmonics[k])), 36)
        ton = np.empty((N_WINDOWS, 6), dtype=np.float64)
        for t in np.unique(tunings):
            idx = np.flatnonzero(tunings == t)
            C = np.abs(librosa.cqt(harmonics[idx], sr=SR, hop_length=512, n_bins=7 * 36,
                                   bins_per_octave=36, tuning=float(t)))
            chroma_c = librosa.feature.chroma_cqt(C=C, sr=SR, bins_per_octave=36)
            ton[idx] = _frame_mean(librosa.feature.tonnetz(chroma=chroma_c, sr=SR))
        return _finish(np.concatenate([head, ton, mel_means], axis=1))


# --------------------------------------------------------------------------- interface

def load_segment(path: Path) -> np.ndarray:
    """Decode a segment file to float32 mono at 22,050 Hz; FeatureError with a reason."""
    import soundfile as sf

    if not Path(path).is_file():
        raise FeatureError("missing", f"{path} does not exist")
    try:
        y, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as e:
        raise FeatureError("decode", f"{path}: {e}") from None
    if sr != SR:
        raise FeatureError("sample_rate", f"{path}: {sr} Hz, expected {SR}")
    y = y.mean(axis=1, dtype=np.float32) if y.shape[1] > 1 else y[:, 0]
    if y.shape[0] < SEGMENT_SAMPLES:
        raise FeatureError("too_short", f"{path}: {y.shape[0]} samples, expected "
                           f"{SEGMENT_SAMPLES}")
    if not np.all(np.isfinite(y)):
        raise FeatureError("non_finite", f"{path}: samples are not finite")
    return np.ascontiguousarray(y[:SEGMENT_SAMPLES])


def library_versions() -> dict[str, str]:
    """Versions of the libraries that define the music features."""
    import importlib.metadata as md

    out = {}
    for name in ("librosa", "numpy", "scipy", "numba", "soundfile", "soxr"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    return out

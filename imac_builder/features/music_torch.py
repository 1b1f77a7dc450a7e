"""The ``torch`` music engine: the spec §5 recipe batched over windows in torch (GPU).

Every window of every segment in a batch goes through the same tensor operations:
STFT, mel, MFCC, chroma with piptrack tuning estimation, spectral contrast,
harmonic/percussive split (median filters), inverse STFT, tuning of the harmonic part,
constant-Q transform, CQT chroma and tonnetz. Small tables (mel, chroma and constant-Q
filter banks, the DCT matrix, band limits) come from librosa itself, so the definitions
are librosa's; only the arithmetic moves to the device.

One step is not librosa's arithmetic: the constant-Q transform halves the sample rate
once per octave with soxr in librosa; here a 129-tap Kaiser-windowed sinc low-pass (flat
to about 1e-4 where the next octave's filters lie) does it on the device. The engine
therefore agrees with ``reference`` within 1e-3 of each group's scale (checked on real
music by the tests on the CPU and by ``scripts/gpu_check.sh`` on a GPU), not bit for bit.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .music import HOP_SAMPLES, N_FEATURES, N_WINDOWS, SR, WINDOW_SAMPLES

N_FFT = 2048
HOP = 512
CQT_BPO = 36
CQT_OCTAVES = 7


# --------------------------------------------------------------------------- tables

@functools.cache
def _tables() -> dict[str, np.ndarray]:
    import librosa
    import scipy.fft

    freqs = librosa.fft_frequencies(sr=SR, n_fft=N_FFT)
    inside = np.flatnonzero((150.0 <= freqs) & (freqs < 4000.0))
    bands = []  # spectral_contrast's sub-bands: (first bin, last bin + 1, quantile count)
    octa = np.zeros(8)
    octa[1:] = 200.0 * (2.0 ** np.arange(0, 7))
    for k, (lo, hi) in enumerate(zip(octa[:-1], octa[1:], strict=True)):
        band = (freqs >= lo) & (freqs <= hi)
        idx = np.flatnonzero(band)
        if k > 0:
            band[idx[0] - 1] = True
        if k == 6:
            band[idx[-1] + 1:] = True
        n_q = int(np.maximum(np.rint(0.02 * np.sum(band)), 1))
        sel = np.flatnonzero(band)
        if k < 6:
            sel = sel[:-1]
        bands.append((int(sel[0]), int(sel[-1]) + 1, n_q))
    dim_map = np.linspace(0, 12, num=12, endpoint=False)
    scale = np.asarray([7.0 / 6, 7.0 / 6, 3.0 / 2, 3.0 / 2, 2.0 / 3, 2.0 / 3])
    V = np.multiply.outer(scale, dim_map)
    V[::2] -= 0.5
    R = np.array([1, 1, 1, 1, 0.5, 0.5])
    return {
        "mel": librosa.filters.mel(sr=SR, n_fft=N_FFT),
        "dct": scipy.fft.dct(np.eye(128), type=2, norm="ortho", axis=0)[:40],
        "pip": np.array([inside[0], inside[-1] + 1]),
        "bands": np.array(bands),
        "phi": R[:, None] * np.cos(np.pi * V),
        "cq_to_chroma": librosa.filters.cq_to_chroma(CQT_OCTAVES * CQT_BPO,
                                                     bins_per_octave=CQT_BPO, n_chroma=12),
        "lowpass": _halfband(),
    }


def _halfband(taps: int = 129, beta: float = 9.0) -> np.ndarray:
    """Low-pass FIR for decimation by 2: Kaiser-windowed sinc, cutoff 0.2125 of the input
    rate (0.85 of the output's Nyquist frequency), unit gain at DC."""
    n = np.arange(taps) - (taps - 1) / 2
    h = 2 * 0.2125 * np.sinc(2 * 0.2125 * n) * np.kaiser(taps, beta)
    return h / h.sum()


@functools.lru_cache(maxsize=512)
def _chroma_fb(tuning: float) -> np.ndarray:
    import librosa

    return librosa.filters.chroma(sr=SR, n_fft=N_FFT, tuning=tuning, n_chroma=12)


@functools.lru_cache(maxsize=512)
def _cqt_plan(tuning: float) -> tuple[list[tuple[np.ndarray, int, int]], np.ndarray]:
    """librosa's constant-Q filter bank per octave for one tuning (as ``cqt`` builds it):
    [(dense basis, n_fft, hop)], and the filter lengths used to scale the result."""
    import librosa
    from librosa.core import constantq

    fmin = librosa.note_to_hz("C1") * 2.0 ** (tuning / CQT_BPO)
    n_bins = CQT_OCTAVES * CQT_BPO
    freqs = librosa.interval_frequencies(n_bins=n_bins, fmin=fmin, intervals="equal",
                                         bins_per_octave=CQT_BPO, sort=True)
    alpha = librosa.filters._relative_bandwidth(freqs=freqs)
    lengths, cutoff = librosa.filters.wavelet_lengths(freqs=freqs, sr=SR, window="hann",
                                                      filter_scale=1, gamma=0, alpha=alpha)
    early = constantq.__dict__["__early_downsample_count"](SR / 2.0, cutoff, HOP,
                                                          CQT_OCTAVES)
    if early:  # never for these parameters; refuse rather than guess
        raise RuntimeError("unexpected early downsampling in the CQT plan")
    filt = constantq.__dict__["__vqt_filter_fft"]
    plan = []
    my_sr, my_hop = float(SR), HOP
    for i in range(CQT_OCTAVES):
        sl = slice(-CQT_BPO, None) if i == 0 else slice(-CQT_BPO * (i + 1), -CQT_BPO * i)
        basis, n_fft, _ = filt(my_sr, freqs[sl], 1, 1, 0.01, window="hann", gamma=0,
                               dtype=np.complex64, alpha=alpha[sl])
        dense = np.asarray(basis.toarray() * np.sqrt(SR / my_sr), dtype=np.complex64)
        plan.append((dense, int(n_fft), my_hop))
        my_hop //= 2
        my_sr /= 2.0
    return plan, np.asarray(lengths)


@functools.lru_cache(maxsize=512)
def _device_chroma_fb(tuning: float, device: str) -> Any:
    import torch

    return torch.as_tensor(_chroma_fb(tuning), dtype=torch.float32, device=device)


@functools.lru_cache(maxsize=4096)
def _device_basis(tuning: float, octave: int, device: str) -> Any:
    """One octave's filter bank for one tuning, kept on the device."""
    import torch

    return torch.as_tensor(_cqt_plan(tuning)[0][octave][0], device=device)


# --------------------------------------------------------------------------- pieces

def _stft(x: Any, n_fft: int, hop: int, window: Any) -> Any:
    import torch

    return torch.stft(x, n_fft, hop, window=window, center=True, pad_mode="constant",
                      return_complex=True)


def _tuning(S: Any, bins_per_octave: int) -> Any:
    """librosa.estimate_tuning(S=S) per window: piptrack peaks between 150 Hz and 4 kHz,
    magnitudes at or above their median, histogram of deviations at 0.01 resolution."""
    import torch

    lo, hi = (int(v) for v in _tables()["pip"])
    ref = 0.1 * S.amax(dim=-2, keepdim=True)
    X = S[:, lo - 1:hi + 1]
    T = X * (X > ref)
    peak = (T[:, 1:-1] > T[:, :-2]) & (T[:, 1:-1] >= T[:, 2:])
    nxt, prv, cur = X[:, 2:].double(), X[:, :-2].double(), X[:, 1:-1].double()
    nxt32, prv32 = X[:, 2:], X[:, :-2]
    a = (nxt32 + prv32).double() - 2 * cur
    b = (nxt - prv) / 2
    shift = torch.where(b.abs() >= a.abs(), torch.zeros_like(a), -b / a).float()
    avg = (nxt32 - prv32) / 2.0
    k = torch.arange(lo, hi, device=S.device, dtype=torch.float64)[None, :, None]
    pitch = ((k + shift.double()) * float(SR) / N_FFT).float()
    mag = X[:, 1:-1] + 0.5 * avg * shift
    valid = peak & (pitch > 0)
    B = S.shape[0]
    flat_mag = torch.where(valid, mag, torch.full_like(mag, float("inf"))).reshape(B, -1)
    count = valid.reshape(B, -1).sum(dim=1)
    srt = flat_mag.sort(dim=1).values
    lo_i = ((count - 1).clamp(min=0) // 2)[:, None]
    hi_i = (count // 2).clamp(max=srt.shape[1] - 1)[:, None]
    med = (srt.gather(1, lo_i) + srt.gather(1, hi_i)) / 2
    med = torch.where(count[:, None] > 0, med, torch.zeros_like(med))
    keep = (valid & (mag >= med[:, :, None])).reshape(B, -1)
    f = pitch.reshape(B, -1)
    octs = torch.log2(torch.where(keep, f, torch.ones_like(f)) / (440.0 / 16))
    residual = torch.remainder(bins_per_octave * octs, 1.0)
    residual = torch.where(residual >= 0.5, residual - 1.0, residual)
    edges = torch.linspace(-0.5, 0.5, 101, dtype=torch.float64, device=S.device)
    idx = torch.bucketize(residual.double(), edges, right=True) - 1
    idx = idx.clamp(0, 99)
    counts = torch.zeros(B, 100, dtype=torch.int64, device=S.device)
    counts.scatter_add_(1, idx, keep.long())
    tuning = edges[counts.argmax(dim=1)]
    return torch.where(keep.any(dim=1), tuning, torch.zeros_like(tuning))


def _power_to_db(x: Any, dims: tuple[int, ...]) -> Any:
    import torch

    log = 10.0 * torch.log10(x.clamp(min=1e-10))
    return torch.maximum(log, log.amax(dim=dims, keepdim=True) - 80.0)


def _normalize(x: Any, p: float) -> Any:
    import torch

    tiny = torch.finfo(x.dtype).tiny
    n = x.abs().amax(dim=-2, keepdim=True) if p == float("inf") else x.abs().sum(
        dim=-2, keepdim=True)
    return x / torch.where(n < tiny, torch.ones_like(n), n)


def _median31(x: Any, dim: int) -> Any:
    """scipy.ndimage.median_filter, size 31 along ``dim``, mode "reflect"."""
    n = x.shape[dim]
    j = np.arange(n + 30) - 15
    m = j % (2 * n)
    src = np.where(m < n, m, 2 * n - 1 - m)
    import torch

    padded = x.index_select(dim, torch.as_tensor(src, device=x.device))
    return padded.unfold(dim, 31, 1).median(dim=-1).values


def _harmonic(D: Any, S: Any, window: Any) -> Any:
    import torch

    tiny = torch.finfo(S.dtype).tiny
    zero = S == 0
    mag_nz = S + zero
    phase = torch.complex(D.real / mag_nz + zero, D.imag / mag_nz)
    if S.device.type == "cpu":  # the fast engine's exact kernel (same values, faster)
        from .music import median_filter_axis

        s_np = S.numpy()
        harm = torch.from_numpy(np.stack([median_filter_axis(x, 31, -1) for x in s_np]))
        perc = torch.from_numpy(np.stack([median_filter_axis(x, 31, -2) for x in s_np]))
    else:
        harm = torch.cat([_median31(S[i:i + 4], -1) for i in range(0, S.shape[0], 4)])
        perc = torch.cat([_median31(S[i:i + 4], -2) for i in range(0, S.shape[0], 4)])
    Z = torch.maximum(harm, perc)
    bad = Z < tiny
    Z = torch.where(bad, torch.ones_like(Z), Z)
    m = (harm / Z) ** 2
    r = (perc / Z) ** 2
    mask = torch.where(bad, torch.full_like(m, 0.5), m / (m + r))
    Y = (S * mask) * phase
    return torch.istft(Y, N_FFT, HOP, window=window, center=True, length=WINDOW_SAMPLES)


def _halve(y: Any) -> Any:
    """Decimate by 2 (librosa ``resample(orig_sr=2, target_sr=1, scale=True)``)."""
    import torch
    import torch.nn.functional as F

    h = torch.as_tensor(_tables()["lowpass"], dtype=y.dtype, device=y.device)
    out = F.conv1d(y[:, None], h.flip(0)[None, None], padding=h.shape[0] // 2)[:, 0]
    return out[:, ::2] * np.sqrt(2.0)


def _tonnetz(yh: Any, tunings: Any) -> Any:
    """CQT chroma and tonnetz of harmonic windows, each with its own tuning: one batched
    product per octave (each window gathers its tuning's filter bank)."""
    import torch

    tab = _tables()
    dev = yh.device
    values, inverse = torch.unique(tunings, return_inverse=True)
    keys = [round(float(t), 6) for t in values.tolist()]
    plans = [_cqt_plan(k) for k in keys]
    cq2c = torch.as_tensor(tab["cq_to_chroma"], dtype=torch.float32, device=dev)
    phi = torch.as_tensor(tab["phi"], dtype=torch.float32, device=dev)
    inv = inverse.cpu().numpy()
    y = yh
    resp = []
    for octave in range(CQT_OCTAVES):
        hop = plans[0][0][octave][2]
        out = None
        for n_fft in sorted({p[0][octave][1] for p in plans}):  # almost always one size
            rows = np.flatnonzero([plans[u][0][octave][1] == n_fft for u in inv])
            bases = torch.stack([_device_basis(keys[u], octave, str(dev)) for u in inv[rows]])
            sel = torch.as_tensor(rows, device=dev)
            D = _stft(y[sel], n_fft, hop, torch.ones(n_fft, device=dev))
            r = torch.bmm(bases, D)
            if out is None:
                out = torch.empty((y.shape[0], *r.shape[1:]), dtype=r.dtype, device=dev)
            out[sel] = r
        resp.append(out)
        y = _halve(y)
    cols = min(r.shape[-1] for r in resp)
    C = torch.cat([r[..., :cols] for r in reversed(resp)], dim=-2).abs()
    norms = torch.as_tensor(np.stack([np.sqrt(plans[u][1]) for u in inv]),
                            dtype=torch.float32, device=dev)
    chroma = _normalize(cq2c @ (C / norms[:, :, None]), float("inf"))
    return (phi @ _normalize(chroma, 1.0)).double().mean(dim=-1)


# --------------------------------------------------------------------------- entry

def torch_windows(W: Any) -> Any:
    """(B, 220500) float32 windows on a device -> (B, 193) float64 window vectors."""
    import torch

    tab = _tables()
    dev = W.device
    window = torch.hann_window(N_FFT, periodic=True, device=dev)
    D = _stft(W, N_FFT, HOP, window)
    S = D.abs()
    mel = torch.as_tensor(tab["mel"], device=dev) @ (S ** 2)
    mfcc = torch.as_tensor(tab["dct"], dtype=torch.float32, device=dev) @ _power_to_db(
        mel, (-2, -1))
    tun12 = _tuning(S, 12)
    fbs = torch.stack([_device_chroma_fb(round(float(t), 6), str(dev))
                       for t in tun12.tolist()])
    chroma = _normalize(fbs @ S, float("inf"))
    peaks, valleys = [], []
    for lo, hi, n_q in tab["bands"].tolist():
        srt = S[:, lo:hi].sort(dim=-2).values
        valleys.append(srt[:, :n_q].mean(dim=-2))
        peaks.append(srt[:, -n_q:].mean(dim=-2))
    contrast = (_power_to_db(torch.stack(peaks, 1).double(), (-2, -1))
                - _power_to_db(torch.stack(valleys, 1).double(), (-2, -1)))
    yh = _harmonic(D, S, window)
    tun36 = _tuning(_stft(yh, N_FFT, HOP, window).abs(), 36)
    ton = _tonnetz(yh, tun36)
    return torch.cat([mfcc.double().mean(-1), chroma.double().mean(-1),
                      contrast.mean(-1), ton, mel.double().mean(-1)], dim=1)


def torch_batch(ys: np.ndarray, device: str = "cuda", chunk: int = 44
                ) -> tuple[np.ndarray, np.ndarray]:
    """Segments (N, 1323000) -> (features (N, 193) float32, not-finite flags (N,))."""
    import torch

    x = torch.as_tensor(np.ascontiguousarray(ys, dtype=np.float32), device=device)
    W = x.unfold(1, WINDOW_SAMPLES, HOP_SAMPLES).reshape(-1, WINDOW_SAMPLES)
    with torch.inference_mode():
        per = torch.cat([torch_windows(W[i:i + chunk]) for i in range(0, W.shape[0], chunk)])
    vec = per.reshape(ys.shape[0], N_WINDOWS, N_FEATURES).mean(dim=1).cpu().numpy()
    bad = ~np.all(np.isfinite(vec), axis=1)
    return vec.astype(np.float32), bad


def torch_segment(y: np.ndarray, device: str = "cpu") -> np.ndarray:
    """One segment through the torch engine (for tests and parity checks)."""
    from .music import FeatureError

    vec, bad = torch_batch(y[None], device=device)
    if bad[0]:
        raise FeatureError("non_finite", "features are not finite")
    return vec[0]

"""Music features: ``fast`` and ``torch`` against ``reference`` on real music; silence;
decoding."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage
from features_support import assert_same_features as assert_same
from features_support import decode, music_files

from imac_builder.features import music


@pytest.fixture(scope="session")
def real_segment() -> np.ndarray:
    """60 s of Debian's free music, decoded by ffmpeg to 22,050 Hz mono."""
    return decode(music_files(1)[0], start=30.0)


def test_fast_equals_reference_on_real_music(real_segment):
    ref = music.reference_segment(real_segment)
    fast = music.fast_segment(real_segment)
    assert ref.shape == fast.shape == (193,) and ref.dtype == np.float32
    assert np.all(np.isfinite(ref))
    for name, sl in music.group_slices().items():  # real music: no group is trivial
        assert np.ptp(ref[sl]) > 0, name
    assert_same(ref, fast)


def test_torch_engine_matches_reference_per_window(real_segment):
    """The batched torch recipe (run on the CPU here) within 1e-3 of each group's scale,
    window by window (the full-segment path is exercised by the stage test)."""
    torch = pytest.importorskip("torch", reason="torch is not installed")
    from imac_builder.features.music_torch import torch_windows

    ws = music.windows(real_segment)[[1, 6]]
    got = torch_windows(torch.from_numpy(ws)).numpy()
    for w, g in zip(ws, got, strict=True):
        assert_same(music.reference_window(w), g, tol=1e-3)


@pytest.mark.slow  # the librosa reference on two 10 s windows per input (~30 s each busy)
@pytest.mark.parametrize("input_kind", ["float", "16-bit"])
def test_torch_engine_matches_reference_per_column(real_segment, input_kind):
    """Every one of the 193 columns within 1e-3 of that column's own scale (its largest
    absolute reference value over the windows), so a small column (a high MFCC, a tonnetz
    coordinate) cannot hide behind a large one of its group; on the decoded float signal
    and on the same signal rounded to 16-bit PCM, as the FLAC segments store it."""
    torch = pytest.importorskip("torch", reason="torch is not installed")
    from imac_builder.features.music_torch import torch_windows

    y = real_segment if input_kind == "float" else \
        (np.round(np.clip(real_segment, -1, 1) * 32767) / 32767).astype(np.float32)
    ws = music.windows(y)[[1, 6]]
    got = torch_windows(torch.from_numpy(ws)).numpy()
    ref = np.stack([music.reference_window(w) for w in ws])
    scale = np.abs(ref).max(0)
    assert np.all(scale > 0)  # real music: no column is identically zero
    err = np.abs(got - ref).max(0) / scale
    worst = int(err.argmax())
    assert err[worst] <= 1e-3, f"{music.column_names()[worst]}: {err[worst]:g} of its scale"


def test_windows_are_10_s_with_a_5_s_hop(real_segment):
    ws = music.windows(real_segment)
    assert ws.shape == (11, 220_500)
    for k in (0, 3, 10):
        np.testing.assert_array_equal(ws[k], real_segment[k * 110_250: k * 110_250 + 220_500])


@pytest.mark.parametrize("axis", [-1, -2])
def test_sliding_median_is_scipys(axis):
    rng = np.random.default_rng(1)
    x = rng.gamma(0.5, size=(300, 200)).astype(np.float32)
    x[:, 50:60] = 0.25  # a run of ties
    many_ties = rng.integers(0, 3, size=(120, 90)).astype(np.float32)
    shape = [1, 1]
    shape[axis] = 31
    for data in (x, many_ties, x[:40, :33]):
        want = scipy.ndimage.median_filter(data, size=shape, mode="reflect")
        np.testing.assert_array_equal(music.median_filter_axis(data, 31, axis), want)


def test_tuning_estimate_is_librosas(real_segment):
    import librosa

    for w in music.windows(real_segment)[::2]:
        S = np.abs(librosa.stft(w))
        for bpo in (12, 36):
            assert music.estimate_tuning_fast(S, bpo) == librosa.estimate_tuning(
                S=S, sr=22_050, bins_per_octave=bpo)


def test_torch_median_is_scipys():
    """The device median filter (unfold + median, used on GPUs) on the CPU."""
    torch = pytest.importorskip("torch", reason="torch is not installed")
    from imac_builder.features.music_torch import _median31

    rng = np.random.default_rng(2)
    x = rng.gamma(0.5, size=(2, 90, 70)).astype(np.float32)
    x[:, :, 10:20] = 0.5
    for dim, size in ((-1, (1, 1, 31)), (-2, (1, 31, 1))):
        want = scipy.ndimage.median_filter(x, size=size, mode="reflect")
        np.testing.assert_array_equal(_median31(torch.from_numpy(x), dim).numpy(), want)


def test_silence_gives_the_defined_finite_vector():
    silent = np.zeros(music.SEGMENT_SAMPLES, np.float32)
    vec = music.fast_segment(silent)
    g = {n: vec[s] for n, s in music.group_slices().items()}
    assert np.all(np.isfinite(vec))
    # definition: chroma, contrast, tonnetz and mel are 0; MFCC is the DCT of the
    # constant -100 dB floor: only the first coefficient is non-zero, -100 * sqrt(128)
    for name in ("chroma", "contrast", "tonnetz", "mel"):
        np.testing.assert_array_equal(g[name], 0, err_msg=name)
    np.testing.assert_allclose(g["mfcc"][0], -100 * np.sqrt(128), rtol=1e-5)
    np.testing.assert_allclose(g["mfcc"][1:], 0, atol=1e-3)
    # the reference on one silent window gives the same (all windows are alike)
    ref = music.reference_window(silent[:music.WINDOW_SAMPLES]).astype(np.float32)
    assert_same(ref, vec)
    torch = pytest.importorskip("torch", reason="torch is not installed")
    from imac_builder.features.music_torch import torch_windows

    got = torch_windows(torch.zeros(1, music.WINDOW_SAMPLES)).numpy()[0]
    assert np.all(np.isfinite(got))
    assert_same(ref, got, tol=1e-3)


def test_near_silence_is_finite(real_segment):
    quiet = (real_segment * 1e-6).astype(np.float32)  # about -120 dBFS
    quiet[: 30 * 22_050] = 0.0  # and half of it digital silence
    assert np.all(np.isfinite(music.fast_segment(quiet)))
    # the window across the edge of silence, by the reference recipe
    assert np.all(np.isfinite(music.reference_window(quiet[25 * 22_050: 35 * 22_050])))


def test_non_finite_features_are_refused():
    with pytest.raises(music.FeatureError) as e:
        music._finish(np.full((11, 193), np.nan))
    assert e.value.reason == "non_finite"


def test_load_segment_reasons(tmp_path):
    import soundfile as sf

    bad = tmp_path / "bad.flac"
    bad.write_bytes(b"no audio here")
    short = tmp_path / "short.flac"
    sf.write(short, np.zeros(22_050, np.float32), 22_050, subtype="PCM_16")
    rate = tmp_path / "rate.flac"
    sf.write(rate, np.zeros(44_100 * 61, np.float32), 44_100, subtype="PCM_16")
    for path, reason in ((bad, "decode"), (short, "too_short"), (rate, "sample_rate"),
                         (tmp_path / "none.flac", "missing")):
        with pytest.raises(music.FeatureError) as e:
            music.load_segment(path)
        assert e.value.reason == reason, path
    good = tmp_path / "good.flac"
    y = (np.sin(np.arange(music.SEGMENT_SAMPLES + 5) / 9) * 0.5).astype(np.float32)
    sf.write(good, y, 22_050, subtype="PCM_16")
    got = music.load_segment(good)
    assert got.shape == (music.SEGMENT_SAMPLES,) and got.dtype == np.float32
    np.testing.assert_allclose(got, y[:music.SEGMENT_SAMPLES], atol=1 / 32768)


def test_columns_follow_the_paper_order():
    cols = music.column_names()
    assert len(cols) == 193 == music.N_FEATURES
    assert cols[0] == "mfcc_00" and cols[40] == "chroma_C" and cols[52] == "contrast_0"
    assert cols[59] == "tonnetz_fifth_x" and cols[65] == "mel_000" and cols[-1] == "mel_127"

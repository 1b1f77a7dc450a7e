"""The baselines of paper Table 4 (Spectrogram-ACP, L3-Net) beside ACP-Net on one work
directory: the input stores are built from real files, each model trains on the same
split and pairs, learns class-conditional inputs (tones whose pitch and images whose
colour follow the class), stays at chance on uninformative ones, saves and reloads, and
``evaluate`` puts every trained run in one table beside the paper's."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from imac_builder.config import EvaluateConfig, SplitConfig

torch = pytest.importorskip("torch")
pytest.importorskip("h5py")
pytest.importorskip("scipy")

from features_support import photos, write_images, write_segments  # noqa: E402
from train_support import LABELS, make_stores, one_thread  # noqa: E402, F401

from imac_builder.cli import cli  # noqa: E402
from imac_builder.features.arrays import ArrayStore, ArrayStoreWriter  # noqa: E402
from imac_builder.features.music import SR  # noqa: E402
from imac_builder.features.pixels import run_pixels  # noqa: E402
from imac_builder.features.spectrogram import (  # noqa: E402
    BANDS,
    N_FRAMES,
    log_spectrogram,
    run_spectrograms,
)
from imac_builder.features.store import FeatureStore  # noqa: E402
from imac_builder.train.evaluate import run_evaluate as evaluate  # noqa: E402
from imac_builder.train.model import build_model  # noqa: E402
from imac_builder.train.split import run_split  # noqa: E402
from imac_builder.train.trainer import TrainConfig, load_checkpoint  # noqa: E402
from imac_builder.train.trainer import run_train as train  # noqa: E402

TONE_HZ = (440.0, 1760.0, 5000.0)  # per class; 16 bands of 689 Hz: bands 0, 2 and 7
SMALL_BANDS, SECONDS, SIDE = 16, 2.0, 32
# narrow layers and few frames keep the suite fast; the paper's widths are the defaults
SPEC = TrainConfig(model="spectrogram-acp", epochs=20, patience=8, batch_size=32, lr=2e-3,
                   dropout=0.0, image_widths=(32, 32), music_widths=(32, 32, 32, 32),
                   fusion_widths=(32, 16, 8), spec_blocks=4)
L3 = TrainConfig.recipe_config(model="l3", epochs=6, patience=3, lr=3e-3,
                               l3_channels=(4, 8, 8, 16), l3_fusion=16, crop_frames=20,
                               test_crops=3)
ACP = TrainConfig(model="acp", epochs=20, patience=8, batch_size=32, lr=2e-3, dropout=0.0,
                  image_widths=(32, 32), music_widths=(32, 32, 32, 32),
                  fusion_widths=(32, 16, 8))


def add_baseline_stores(wd: Path, informative: bool, seed: int = 4) -> None:
    """Spectrogram and pixel stores with the ids and labels of the feature stores: a
    noisy tone at the class's pitch (or a random class's) and a noisy image whose dominant
    colour channel is the class's (or a random one's)."""
    rng = np.random.default_rng(seed)
    music = FeatureStore.open(wd / "features/music.h5")
    images = FeatureStore.open(wd / "features/images.h5")
    t = np.arange(int(SECONDS * SR)) / SR
    frames = 1 + len(t) // 551
    with ArrayStoreWriter(wd / "features/spectrograms.h5", "spectrograms",
                          (SMALL_BANDS, frames), np.float16, {"extractor": "test"}) as w:
        for sid, lab, track in zip(music.ids, music.labels, music.extra["track_id"],
                                   strict=True):
            c = LABELS.index(lab) if informative else int(rng.integers(3))
            y = 0.3 * np.sin(2 * np.pi * TONE_HZ[c] * t + rng.uniform(0, 6.3)) \
                + 0.05 * rng.standard_normal(len(t))
            w.append(log_spectrogram(y, bands=SMALL_BANDS).astype(np.float16), sid, lab, track)
    with ArrayStoreWriter(wd / "features/pixels.h5", "pixels", (SIDE, SIDE, 3), np.uint8,
                          {"extractor": "test"}) as w:
        for iid, lab, emo in zip(images.ids, images.labels, images.extra["emotion"],
                                 strict=True):
            c = LABELS.index(lab) if informative else int(rng.integers(3))
            x = rng.uniform(40, 140, (SIDE, SIDE, 3))
            x[..., c] += 90
            w.append(x.astype(np.uint8), iid, lab, emo)


def workdir(root: Path, informative: bool) -> Path:
    """600 images and 90 songs of 2 segments; the feature stores separate the classes well
    (means 4 noise standard deviations apart) so every model has something to find."""
    make_stores(root, informative=informative, n_images=600, n_songs=90, segs_per_song=2,
                sep=4.0)
    add_baseline_stores(root, informative)
    run_split(root, progress=False, config=SplitConfig(seed=2))
    return root


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """One work directory, the three models trained on its split."""
    wd = workdir(tmp_path_factory.mktemp("baselines"), informative=True)
    runs = {cfg.model: train(wd, run=cfg.model, device="cpu", config=cfg, progress=False)
            for cfg in (ACP, SPEC, L3)}
    return wd, runs


@pytest.mark.parametrize("model", ["spectrogram-acp", "l3", "acp"])
def test_each_model_learns_and_reloads(trained: tuple[Path, dict], model: str) -> None:
    wd, runs = trained
    s = runs[model]
    print(f"\n{model}: test accuracy {s.test_accuracy:.3f}")
    assert s.test_accuracy > 0.75  # 240 balanced test pairs: chance is 0.50 ± 0.03
    m = json.loads((wd / f"runs/{model}/metrics.json").read_text())
    assert m["model"] == model and m["test_accuracy"] == s.test_accuracy
    ck = load_checkpoint(wd / f"runs/{model}/model.pt")  # torch.load(weights_only=True)
    assert ck["config"]["model"] == model
    net = build_model(ck["config"])
    net.load_state_dict(ck["state_dict"])  # the same architecture, every weight fits


def test_l3_follows_the_original_architecture() -> None:
    from imac_builder.train.model import L3Net

    net = L3Net(bands=BANDS)  # the paper's widths are the defaults
    convs = [m for m in net.vision.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 64, 128, 128, 256, 256, 512, 512]
    assert all(c.kernel_size == (3, 3) for c in convs)
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in net.audio.modules()) == 8
    assert [m.out_features for m in net.fusion if isinstance(m, torch.nn.Linear)] == [128, 2]
    assert net.fusion[0].in_features == 1024  # two 512-d towers, concatenated
    net.eval()
    with torch.no_grad():
        img = torch.randint(0, 256, (2, 224, 224, 3), dtype=torch.uint8)
        spec = torch.randn(2, BANDS, 120)
        assert net.embed_image(img).shape == (2, 512)
        assert net.embed_music(spec).shape == (2, 12, 512)  # 12 crops of 1 s at test
        p = torch.softmax(net(img, spec), dim=1)
    assert torch.allclose(p.sum(1), torch.ones(2))


def test_evaluate_puts_every_run_beside_table_4(trained: tuple[Path, dict]) -> None:
    wd, runs = trained
    e = evaluate(wd, run="l3", progress=False,
                 config=EvaluateConfig(device="cpu", retrieval_images=30))
    assert e.test_accuracy == pytest.approx(runs["l3"].test_accuracy)
    assert e.probes["music emotion, 3 classes"] > 0.6  # the crop-mean embedding knows pitch
    assert e.retrieval["mean_average_precision"] > 0.5
    report = (wd / "runs/l3/report.md").read_text()
    for name, run, recipe, paper in (
            ("ACP-Net", "acp", "default", "61.67%"), ("L3-Net", "l3", "l3", "57.17%"),
            ("Spectrogram-ACP", "spectrogram-acp", "default", "55.84%")):
        row = next(r for r in report.splitlines()
                   if r.startswith(f"| {name} | `{recipe}` | no | 1 (`{run}`)"))
        assert f"{100 * runs[run].test_accuracy:.2f}%" in row and row.endswith(f"| {paper} |")
    m = json.loads((wd / "runs/l3/metrics.json").read_text())
    assert m["recipe"] == "l3" and m["class_labels_used"] is False
    assert not {"dropout", "class_head_weight", "norm", "image_widths"} & set(m["config"])
    e2 = evaluate(wd, run="spectrogram-acp", probes=False, progress=False,
                  config=EvaluateConfig(device="cpu", retrieval_images=0))
    assert e2.test_accuracy == pytest.approx(runs["spectrogram-acp"].test_accuracy)


def test_l3_stays_at_chance_without_class_information(tmp_path: Path) -> None:
    wd = workdir(tmp_path, informative=False)
    s = train(wd, run="l3", device="cpu", config=L3, progress=False)
    print(f"\nL3-Net, no information: test accuracy {s.test_accuracy:.3f}")
    assert abs(s.test_accuracy - 0.5) < 0.1  # ±3 standard errors of 240 pairs


def test_cli_model_option_and_clear_refusals(tmp_path: Path, runner) -> None:
    make_stores(tmp_path, informative=True, n_images=120, n_songs=30, segs_per_song=2)
    w = ["--workdir", str(tmp_path)]
    assert runner.invoke(cli, [*w, "--quiet", "split"]).exit_code == 0
    r = runner.invoke(cli, [*w, "train", "--model", "l3", "--device", "cpu"])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "pixels.h5 does not exist" in r.output  # names the store and the command
    add_baseline_stores(tmp_path, informative=True)
    r = runner.invoke(cli, [*w, "train", "--model", "spectrogram-acp", "--device", "cpu",
                            "--epochs", "1", "--batch-size", "512"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "runs/spectrogram-acp/model.pt").is_file()  # run named after model
    assert json.loads((tmp_path / "runs/spectrogram-acp/metrics.json").read_text()
                      )["config"]["spec_blocks"] == 60
    # a spectrogram store of another band count no longer fits the trained model
    old = ArrayStore.open(tmp_path / "features/spectrograms.h5", "spectrograms")
    with ArrayStoreWriter(tmp_path / "features/spectrograms.h5", "spectrograms",
                          (8, old.data.shape[2]), np.float16, {}) as wr:
        for k, sid in enumerate(old.ids):
            wr.append(old.data[k, ::2], sid, old.labels[k], old.extra["track_id"][k])
    r = runner.invoke(cli, [*w, "evaluate", "--run", "spectrogram-acp", "--device", "cpu"])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert f"trained on {SMALL_BANDS * 60}-d music features; the store has 480" in r.output
    r = runner.invoke(cli, [*w, "train", "--model", "vgg", "--device", "cpu"])
    assert r.exit_code == 2 and "vgg" in r.output
    from imac_builder.cli.train import train
    from imac_builder.train.registry import MODELS

    model = next(p for p in train.params if p.name == "model")
    assert tuple(model.type.choices) == MODELS  # the CLI offers exactly the models there are


def test_spectrogram_and_pixel_stores_from_files(tmp_path: Path, runner) -> None:
    t = np.arange(1_323_000) / SR
    tones = {f"TRAAAAAAAAAAAAAAA{k}_000": (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
             for k, hz in enumerate((300.0, 3000.0))}
    write_segments(tmp_path, {**tones, "TRBBBBBBBBBBBBBBBB_000": None})  # one file missing
    s = run_spectrograms(tmp_path, progress=False)
    assert (s.rows, s.failed, s.failed_reasons) == (2, 1, {"missing": 1})
    store = ArrayStore.open(tmp_path / "features/spectrograms.h5", "spectrograms")
    assert store.data.shape == (2, BANDS, N_FRAMES) and store.data.dtype == np.float16
    assert store.ids == sorted(tones) and store.extra["track_id"][0] == "TRAAAAAAAAAAAAAAA0"
    peak = store.data.astype(np.float32).mean(2).argmax(1)  # 86 Hz bands
    assert list(peak) == [int(300 / (SR / 2 / BANDS)), int(3000 / (SR / 2 / BANDS))]
    assert store.attrs["config"]["params"]["hop_length"] == 551
    with (tmp_path / "features/spectrograms_failures.csv").open() as fh:
        assert [r["reason"] for r in csv.DictReader(fh)] == ["missing"]
    r = runner.invoke(cli, ["--workdir", str(tmp_path), "features", "--modality",
                            "spectrograms"])
    assert r.exit_code == 0 and "up to date" in r.output  # same inputs: nothing to do

    files = photos(2)
    root = tmp_path / "imgs"
    root.mkdir()
    rows = []
    for k, p in enumerate(files):
        (root / f"p{k}{p.suffix}").write_bytes(p.read_bytes())
        rows.append((f"img{k}", f"p{k}{p.suffix}", "awe", "positive", "ok"))
    rows.append(("img9", "gone.jpg", "fear", "negative", "ok"))
    rows.append(("img8", "p0.jpg", "fear", "negative", "corrupt"))  # not ok: not read
    write_images(tmp_path, root, rows)
    s = run_pixels(tmp_path, image_root=root, progress=False)
    assert (s.rows, s.failed) == (2, 1)
    px = ArrayStore.open(tmp_path / "features/pixels.h5", "pixels")
    assert px.data.shape == (2, 224, 224, 3) and px.data.dtype == np.uint8
    assert px.ids == ["img0", "img1"] and px.extra["emotion"] == ["awe", "awe"]
    assert 20 < px.data.mean() < 235 and px.data.std() > 10  # real photographs, not blanks

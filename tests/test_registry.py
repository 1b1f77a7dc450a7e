"""The model registry and the [train] configuration: the trainer, the data loader and the
evaluator ask the registry, so a new model is its own module and one registry line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("h5py")

from train_support import make_stores, one_thread  # noqa: E402, F401

from imac_builder.cli import cli  # noqa: E402
from imac_builder.config import (  # noqa: E402
    CONFIGS,
    EvaluateConfig,
    SplitConfig,
    TrainConfig,
    load_pipeline,
)
from imac_builder.errors import UserError  # noqa: E402
from imac_builder.train import registry  # noqa: E402
from imac_builder.train.evaluate import run_evaluate  # noqa: E402
from imac_builder.train.split import run_split  # noqa: E402
from imac_builder.train.trainer import run_train  # noqa: E402


@pytest.fixture
def toy():
    entry = registry.register(registry.ModelEntry(
        "toy", "Toy", ("images", "music"), "toy_model:build", arch_fields=()))
    yield entry
    del registry.REGISTRY["toy"]


def test_a_registered_toy_model_trains_and_evaluates(tmp_path: Path, toy) -> None:
    make_stores(tmp_path, informative=True, n_images=600, n_songs=90, sep=4.0)
    run_split(tmp_path, progress=False, config=SplitConfig(seed=0))
    cfg = TrainConfig.recipe_config(model="toy", epochs=6, patience=6, norm="none",
                                    batch_size=32, lr=1e-2)
    s = run_train(tmp_path, run="toy", device="cpu", config=cfg, progress=False)
    print(f"\ntoy model: test accuracy {s.test_accuracy:.3f}")
    assert s.test_accuracy > 0.65  # it learns: chance is 0.50 ± 0.03 on these test pairs
    m = json.loads((tmp_path / "runs/toy/metrics.json").read_text())
    assert m["model"] == "toy" and m["data"]["stores"].keys() == {"images", "music"}
    e = run_evaluate(tmp_path, run="toy", probes=False, progress=False,
                     config=EvaluateConfig(device="cpu", retrieval_images=0))
    assert e.test_accuracy == pytest.approx(s.test_accuracy)
    report = (tmp_path / "runs/toy/report.md").read_text()
    assert "| Toy | `default` | no | 1 (`toy`) (this report)" in report


def test_an_unknown_model_is_one_line() -> None:
    with pytest.raises(UserError, match="unknown model 'vgg'"):
        registry.get("vgg")


def test_train_is_a_pipeline_table_validated_like_the_others(tmp_path: Path,
                                                               runner) -> None:
    assert CONFIGS["train"] is TrainConfig
    doc = tmp_path / "p.toml"
    doc.write_text('[train]\nrecipe = "paper"\nepochs = 3\nimage_widths = [16, 16]\n')
    cfg = load_pipeline(doc)["train"]
    assert (cfg.recipe, cfg.epochs, cfg.image_widths) == ("paper", 3, (16, 16))
    for bad, what in (("lr = nan", "lr must be a finite number"),
                      ("lr = inf", "lr must be a finite number"),
                      ("class_head_weight = -inf", "class_head_weight must be a finite"),
                      ('recipe = "fast"', "recipe must be one of"),
                      ("batch_size = 0", "batch_size must be at least 1")):
        doc.write_text(f"[train]\n{bad}\n")
        with pytest.raises(UserError, match=what):
            load_pipeline(doc)
        r = runner.invoke(cli, ["--workdir", str(tmp_path / "w"), "--config", str(doc),
                                "train"])
        assert r.exit_code == 1 and what in r.output and "Traceback" not in r.output
    # the pipeline file's table feeds the command; the recipe fills what it does not set
    make_stores(tmp_path / "w", informative=True, n_images=120, n_songs=30)
    run_split(tmp_path / "w", progress=False, config=SplitConfig(seed=0))
    doc.write_text('[train]\nrecipe = "paper"\nepochs = 1\nimage_widths = [8]\n'
                   'music_widths = [8]\nfusion_widths = [8]\nlr = 3e-4\n')
    r = runner.invoke(cli, ["--workdir", str(tmp_path / "w"), "--config", str(doc), "train",
                            "--device", "cpu"])
    assert r.exit_code == 0, r.output
    m = json.loads((tmp_path / "w/runs/acp/metrics.json").read_text())
    assert m["config"]["lr"] == 3e-4 and m["config"]["batch_size"] == 256
    assert m["recipe"] == "paper" and m["config"]["image_widths"] == [8]

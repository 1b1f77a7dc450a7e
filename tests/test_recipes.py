"""The recipes on planted stores of known Bayes accuracy: the label-free default learns
from pair labels alone, close to what two classifiers trained on the class labels reach
(the reference), and the class-head variant is never reported as plain ACP-Net."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from imac_builder.config import SplitConfig

pytest.importorskip("torch")
pytest.importorskip("h5py")
pytest.importorskip("sklearn")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_recipes import bayes_balanced, planted  # noqa: E402
from train_support import one_thread  # noqa: E402, F401

from imac_builder.config import TrainConfig  # noqa: E402
from imac_builder.train.recipes import RECIPES, row_name  # noqa: E402
from imac_builder.train.split import run_split  # noqa: E402
from imac_builder.train.trainer import run_train  # noqa: E402

NARROW = {"image_widths": (64, 64), "music_widths": (64, 64, 64, 64),
          "fusion_widths": (64, 32, 16)}


@pytest.fixture(scope="module")
def planted_wd(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float, dict]:
    """900 items a side (64-d images, 32-d music; class c adds 4 to dimension c), the
    balanced split, and the reference: two logistic regressions on the class labels,
    combined by agreement."""
    import torch

    from imac_builder.train.classifiers import agreement_reference
    from imac_builder.train.data import load_data
    from imac_builder.workdir import Workdir

    wd = tmp_path_factory.mktemp("recipes")
    planted(wd, items=900, signal=4.0, image_dim=64, music_dim=32)
    run_split(wd, progress=False, config=SplitConfig(seed=0))
    ref = agreement_reference(load_data(Workdir(wd), torch.device("cpu")))
    return wd, bayes_balanced(4.0), ref


def test_reference_is_close_to_bayes(planted_wd: tuple[Path, float, dict]) -> None:
    _, bayes, ref = planted_wd
    print(f"\nBayes {bayes:.3f}; reference {ref['pair_accuracy']:.3f} (image "
          f"{ref['image_accuracy']:.3f}, music {ref['music_accuracy']:.3f})")
    assert bayes > 0.98
    assert ref["pair_accuracy"] > bayes - 0.04  # 600 test pairs


def test_label_free_default_learns_close_to_the_reference(
        planted_wd: tuple[Path, float, dict]) -> None:
    """Pair labels only; the floor is the reference's accuracy less 6 points (the class
    labels it uses are worth little here: Bayes is 0.993 from the features alone)."""
    wd, bayes, ref = planted_wd
    cfg = TrainConfig.recipe_config("default", epochs=8, patience=8, **NARROW)
    assert cfg.class_head_weight == 0 and cfg.norm == "batch"
    s = run_train(wd, run="default", device="cpu", config=cfg, progress=False)
    print(f"\nlabel-free default: {s.test_accuracy:.3f} (reference "
          f"{ref['pair_accuracy']:.3f}, Bayes {bayes:.3f})")
    assert s.test_accuracy >= ref["pair_accuracy"] - 0.06
    m = json.loads((wd / "runs/default/metrics.json").read_text())
    assert m["class_labels_used"] is False and m["recipe"] == "default"


def test_recipes_are_named_and_class_heads_never_plain_acp() -> None:
    assert {"default", "paper", "class-heads", "l3"} <= set(RECIPES)
    assert all(RECIPES[r]["class_head_weight"] == 0 for r in ("default", "paper", "l3"))
    assert RECIPES["class-heads"]["class_head_weight"] > 0
    paper = RECIPES["paper"]
    assert (paper["lr"], paper["dropout"], paper["norm"]) == (1e-4, 0.4, "none")
    assert row_name("ACP-Net", RECIPES["class-heads"]) == "ACP-Net + class heads"
    assert row_name("ACP-Net", RECIPES["default"]) == "ACP-Net"
    cfg = TrainConfig.recipe_config("paper", lr=3e-4)  # a preset, then what is given
    assert cfg.lr == 3e-4 and cfg.batch_size == 256 and cfg.recipe == "paper"
    assert TrainConfig.recipe_config(model="l3").recipe == "l3"  # the model's own

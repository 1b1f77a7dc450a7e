"""Table 4's groups: a seed spread is taken over runs that differ only by their seed."""

from __future__ import annotations

import pytest

pytest.importorskip("numpy")

from imac_builder.train.evaluate import _setting, table4_rows  # noqa: E402


def _run(name: str, seed: int, acc: float, **cfg: object) -> dict:
    config = {"epochs": 30, "fusion_widths": [1024, 512, 128], "seed": seed, **cfg}
    return {"run": name, "model": "acp", "recipe": "default", "class_labels": False,
            "seed": seed, "test_accuracy": acc, "test_correct": None, "apart": "",
            "setting": _setting(config)}


def test_runs_trained_otherwise_are_not_one_models_seeds() -> None:
    runs = [_run("acp-s0", 0, 0.90, epochs=8), _run("acp-s1", 1, 0.86, epochs=8),
            _run("acp-s2", 2, 0.95, epochs=8), _run("acp", 0, 0.98), _run("demo", 0, 0.95,
                                                                          epochs=15)]
    rows = table4_rows(runs, None, 0)
    by_runs = {tuple(r["runs"]): r for r in rows}
    assert set(by_runs) == {("acp-s0", "acp-s1", "acp-s2"), ("acp",), ("demo",)}
    three = by_runs["acp-s0", "acp-s1", "acp-s2"]
    assert three["seeds"] == [0, 1, 2] and three["mean"] == pytest.approx(0.9033, abs=1e-4)
    # what sets each group apart is named: the epochs, not the widths they share
    assert three["differs"] == "epochs 8" and by_runs[("acp",)]["differs"] == "epochs 30"


def test_one_setting_alone_names_no_difference_and_a_repeated_seed_stays_visible() -> None:
    rows = table4_rows([_run("a", 0, 0.9), _run("b", 0, 0.8), _run("c", 1, 0.7)], None, 0)
    assert len(rows) == 1 and rows[0]["differs"] == ""
    assert rows[0]["seeds"] == [0, 0, 1]

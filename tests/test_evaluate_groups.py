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


def test_settings_compare_by_value_and_a_missing_one_takes_its_default() -> None:
    from imac_builder.config import TrainConfig

    default = TrainConfig().subnet_dropout
    a = _run("a", 0, 0.9, epochs=5, subnet_dropout=default)
    b = _run("b", 1, 0.8, epochs=5.0)  # written before subnet_dropout existed
    rows = table4_rows([a, b], None, 0)
    assert len(rows) == 1 and rows[0]["runs"] == ["a", "b"]


def test_a_run_without_config_is_its_own_row_and_says_so() -> None:
    bare = _run("bare", 0, 0.7)
    bare["setting"] = _setting({})
    rows = table4_rows([_run("a", 0, 0.9), bare], None, 0)
    assert {tuple(r["runs"]): r["differs"] for r in rows}[("bare",)] == \
        "no training config recorded"


def test_a_seed_trained_twice_counts_once() -> None:
    rows = table4_rows([_run("a", 0, 0.9), _run("a2", 0, 0.7), _run("b", 1, 0.6)], None, 0)
    r = rows[0]
    # seed 0's two runs average to 0.8; seed 1 scores 0.6: mean 0.7, not (0.9+0.7+0.6)/3
    assert r["mean"] == pytest.approx(0.7) and r["min"] == pytest.approx(0.6)
    one = table4_rows([_run("a", 0, 0.9), _run("a2", 0, 0.7)], None, 0)[0]
    assert one["sd"] != one["sd"]  # one seed: no spread (NaN)


def test_report_cells_are_escaped() -> None:
    from imac_builder.train.evaluate import _cell

    assert _cell("a|b\nc`d\x1b[31m") == "a¦b\\nc'd\\x1b[31m"


def test_a_key_that_is_no_setting_sets_no_run_apart() -> None:
    rows = table4_rows([_run("a", 0, 0.9), _run("b", 1, 0.8, **{"x\n": 1, "deep": {"a": 1}})],
                       None, 0)
    assert len(rows) == 1 and rows[0]["differs"] == ""


def test_a_diverged_runs_nan_is_written_as_null() -> None:
    import json
    import math

    from imac_builder.guard import finite_or_null

    doc = {"history": [{"loss": math.nan}, {"loss": 0.5}], "x": (math.inf, 1)}
    assert json.loads(json.dumps(finite_or_null(doc), allow_nan=False)) == {
        "history": [{"loss": None}, {"loss": 0.5}], "x": [None, 1]}


def test_a_seed_is_read_by_value_and_a_word_makes_the_run_unreadable(tmp_path) -> None:
    import json

    from imac_builder.train.evaluate import EvalSummary, all_runs
    from imac_builder.workdir import Workdir

    for name, seed in (("a", 1), ("b", 1.0), ("c", "1"), ("d", "one"), ("e", 1.5)):
        run = tmp_path / "runs" / name
        run.mkdir(parents=True)
        (run / "metrics.json").write_text(json.dumps(
            {"model": "acp", "test_accuracy": 0.8, "seed": seed, "protocol": "balanced",
             "split_sha256": "s", "config": {"epochs": 30}}), encoding="utf-8")
    rows = {r["run"]: r for r in all_runs(Workdir(tmp_path), "", EvalSummary(), "s")}
    assert [rows[n]["seed"] for n in "abc"] == [1, 1, 1]
    assert "seed" in rows["d"]["unreadable"] and "whole number" in rows["e"]["unreadable"]
    # three ways of writing seed 1 are one seed: no spread
    group = table4_rows([rows[n] for n in "abc"], None, 0)[0]
    assert group["sd"] != group["sd"]

"""Every stage option is declared once, in its configuration dataclass (imac_builder/config.py).

The CLI's options, ``--help``, docs/configuration.md, docs/commands.md, validation and the
run functions' defaults are derived from the fields; these tests fail when an option's flag,
default, bounds or help is written anywhere else, and when a value a range check cannot see
(NaN, infinities) gets through.
"""

from __future__ import annotations

import ast
import dataclasses
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from imac_builder import config as C
from imac_builder.cli import cli

REPO = Path(__file__).resolve().parents[1]
CLI_DIR = REPO / "imac_builder" / "cli"
FIELDS = [(stage, f) for stage, cls in C.CONFIGS.items() for f in dataclasses.fields(cls)]
FLOATS = [(stage, f) for stage, f in FIELDS if C.field_type(C.CONFIGS[stage], f.name) is float]


def _declared_flags() -> dict[str, set[str]]:
    """command name -> the flags its click decorators in imac_builder/cli/ declare."""
    out: dict[str, set[str]] = {}
    for path in CLI_DIR.glob("*.py"):
        for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(fn, ast.FunctionDef):
                continue
            flags = out.setdefault(fn.name, set())
            for deco in fn.decorator_list:
                for node in ast.walk(deco):
                    if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                            node.value.startswith("-"):
                        flags.update(node.value.split("/"))
    return out


def test_no_configuration_flag_is_written_in_the_cli():
    """A stage's settings reach its command only from the dataclass (config_options)."""
    declared = _declared_flags()
    written = sorted(f"{stage} {C.flag_of(f)}" for stage, f in FIELDS
                     if C.flag_of(f) in declared.get(stage, set()))
    assert written == [], f"declared in the CLI as well as in the dataclass: {written}"
    assert declared["tags"] and declared["search"]  # the walk sees the commands


def test_every_field_is_declared_completely():
    for stage, f in FIELDS:
        assert f.metadata.get("help"), f"{stage}.{f.name} has no help"
        kind = C.field_type(C.CONFIGS[stage], f.name)
        if kind in (int, float) and C.field_default(f) is not None:
            assert C.bounds_text(f), f"{stage}.{f.name} has no bounds"


def test_every_field_is_an_option_of_its_command():
    for stage, f in FIELDS:
        params = {p.name: p for p in cli.commands[stage].params}
        p = params[f.name]
        assert C.flag_of(f) in p.opts
        assert p.help.startswith(f.metadata["help"][:-1])


@pytest.mark.parametrize("stage,f", FLOATS, ids=lambda v: getattr(v, "name", v))
@pytest.mark.parametrize("bad", ["nan", "inf", "-inf"])
def test_nan_and_infinity_are_refused_on_the_command_line(tmp_path, stage, f, bad):
    args = [str(tmp_path)] if stage == "rebuild" else []  # its MANIFEST argument
    result = CliRunner().invoke(cli, ["--workdir", str(tmp_path / "w"), stage, *args,
                                      C.flag_of(f), bad])
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert C.flag_of(f) in lines[0] and "finite" in lines[0], result.output
    assert not (tmp_path / "w").exists()  # refused before any work


@pytest.mark.parametrize("stage,f", FLOATS, ids=lambda v: getattr(v, "name", v))
@pytest.mark.parametrize("bad", ["nan", "inf", "-inf"])
def test_nan_and_infinity_are_refused_in_a_pipeline_file(tmp_path, stage, f, bad):
    pipeline = tmp_path / "p.toml"
    pipeline.write_text(f"[{stage}]\n{f.name} = {bad}\n")  # TOML's own nan and inf
    args = [str(tmp_path)] if stage == "rebuild" else []
    result = CliRunner().invoke(cli, ["--workdir", str(tmp_path / "w"), "--config",
                                      str(pipeline), stage, *args])
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert result.exit_code == 1 and len(lines) == 1, result.output
    assert f"[{stage}] {f.name} must be a finite number" in lines[0], result.output
    # and from Python, the same one-line error
    with pytest.raises(C.UserError, match=f"{f.name} must be a finite number"):
        C.load_pipeline(pipeline)


@pytest.mark.parametrize("stage,f", FLOATS, ids=lambda v: getattr(v, "name", v))
def test_nan_is_refused_by_the_dataclass_itself(stage, f):
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(C.UserError, match=f"^{f.name} must be a finite number"):
            C.CONFIGS[stage](**{f.name: bad})


def test_bounds_and_choices_come_from_the_field(tmp_path):
    runner = CliRunner()
    r = runner.invoke(cli, ["--workdir", str(tmp_path), "images", "--placeholder-copies", "1"])
    assert r.exit_code == 2 and "must be at least 2, not 1" in r.output
    r = runner.invoke(cli, ["--workdir", str(tmp_path), "download", "--jobs", "65"])
    assert r.exit_code == 2 and "must be 1 to 64, not 65" in r.output
    with pytest.raises(C.UserError, match="placeholder_copies must be at least 2"):
        C.ImagesConfig(placeholder_copies=1)
    from imac_builder.features.registry import EXTRACTORS

    assert set(C.choices_of(_field("features", "modality"))) == {*EXTRACTORS, "all"}


def _field(stage: str, name: str) -> dataclasses.Field:
    return next(f for f in dataclasses.fields(C.CONFIGS[stage]) if f.name == name)


def test_a_path_setting_is_recorded_as_a_string():
    c = C.TagsConfig(exclusions=Path("x/excl.txt"))
    assert c.exclusions == "x/excl.txt" and c.to_dict()["exclusions"] == "x/excl.txt"
    assert C.DownloadConfig(rate=100).to_dict()["rate"] == 100.0  # an int is a float


def test_changing_a_default_in_the_dataclass_alone_changes_help_docs_and_the_run(tmp_path):
    """Edit one default in a copy of the package: --help, docs/configuration.md and what
    run_tags does all follow, with nothing else touched."""
    pkg = tmp_path / "src" / "imac_builder"
    shutil.copytree(REPO / "imac_builder", pkg,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    cfg = pkg / "config.py"
    text = cfg.read_text(encoding="utf-8")
    old = '0.0, "Ignore tag entries whose Last.fm weight'
    assert text.count(old) == 1
    cfg.write_text(text.replace(old, '40.0, "Ignore tag entries whose Last.fm weight'),
                   encoding="utf-8")
    sys.path.insert(0, str(REPO / "tests"))
    from tagdata import write_db

    db = write_db(tmp_path / "lastfm_tags.db", [
        ("TRAAAAA128F0000001", "A", "One", [("happy", 100), ("sad", 30)]),
        ("TRAAAAA128F0000002", "B", "Two", [("sad", 20)])])
    code = (
        "import sys; from pathlib import Path\n"
        "from click.testing import CliRunner\n"
        "from imac_builder.cli import cli\n"
        "from imac_builder.reference import configuration_page\n"
        "from imac_builder.tags import run_tags\n"
        "import imac_builder; assert imac_builder.__file__.startswith(sys.argv[3])\n"
        "print(CliRunner().invoke(cli, ['tags', '--help'], terminal_width=200).output)\n"
        "print([l for l in configuration_page().splitlines() if 'min_tag_weight' in l][0])\n"
        "s = run_tags(Path(sys.argv[1]), lastfm=[Path(sys.argv[2])], progress=False)\n"
        "print('labelled', s.songs_labelled)\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "w"), str(db),
                          str(tmp_path / "src")],
                         env={"PYTHONPATH": str(tmp_path / "src"), "PATH": "/usr/bin:/bin"},
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "[default: 40.0]" in out.stdout  # --help
    assert "| `min_tag_weight` | float | `40.0` |" in out.stdout  # docs/configuration.md
    assert "labelled 1" in out.stdout  # the 20-weight 'sad' of song B no longer counts
    # and the unchanged package: default 0, both songs labelled
    from imac_builder.tags import run_tags

    assert run_tags(tmp_path / "w0", lastfm=[db], progress=False).songs_labelled == 2


def test_run_functions_take_the_configuration_keyword_only() -> None:
    """``run_<stage>(workdir, *, config=None, ...)``: None is the dataclass's defaults
    (``run_train(config=None)`` trains with ``TrainConfig()``)."""
    import inspect

    from imac_builder import stages

    for stage in (s for s in stages.STAGES if s.name in C.CONFIGS):
        p = inspect.signature(stage.function()).parameters["config"]
        assert (p.kind, p.default) == (inspect.Parameter.KEYWORD_ONLY, None), stage.name


def test_train_recipe_fills_only_the_settings_not_given(monkeypatch, tmp_path) -> None:
    """``train --recipe paper --lr 3e-4 --no-subnet-dropout``: the preset, then what is
    given; without --recipe the model's own recipe."""
    from imac_builder.cli.app import App

    seen = []
    monkeypatch.setattr(App, "run", lambda self, stage, fn, *, config, **kw: seen.append(
        (config, kw["run"])))
    w = ["--workdir", str(tmp_path)]
    r = CliRunner().invoke(cli, [*w, "train", "--recipe", "paper", "--lr", "3e-4",
                                 "--no-subnet-dropout", "--seeds", "2"])
    assert r.exit_code == 0, r.output
    (a, run_a), (b, run_b) = seen
    assert (a.recipe, a.lr, a.batch_size, a.subnet_dropout) == ("paper", 3e-4, 256, False)
    assert (a.seed, b.seed, run_a, run_b) == (0, 1, "acp-s0", "acp-s1")
    seen.clear()
    r = CliRunner().invoke(cli, [*w, "train", "--model", "l3"])
    assert r.exit_code == 0, r.output
    assert (seen[0][0].recipe, seen[0][0].lr) == ("l3", 1e-4)

"""The CLI front end: light to import, one clear line for every user error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from imac_builder.cli import cli

HEAVY = ("numpy", "h5py", "torch", "PIL", "librosa", "yt_dlp", "googleapiclient",
         "rapidfuzz", "soundfile", "pandas", "matplotlib", "mlcroissant")


def test_importing_the_cli_loads_no_heavy_dependency() -> None:
    """``train`` must run where librosa or ffmpeg are missing: stages import on use."""
    code = ("import sys, imac_builder.cli; "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1]).stdout
    assert out.strip() == "[]"


def test_every_command_has_help_and_output_options(runner) -> None:
    for name in cli.commands:
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "--json" in result.output and "--quiet" in result.output, name


def test_unknown_command_and_option_are_one_line(runner) -> None:
    for args in (["nope"], ["tags", "--nope"], ["--workdir"]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 2
        lines = [ln for ln in result.output.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("Error:"), result.output


def test_status_of_a_fresh_workdir(tmp_path: Path, runner) -> None:
    (tmp_path / "w").mkdir()
    result = runner.invoke(cli, ["--workdir", str(tmp_path / "w"), "status"])
    assert result.exit_code == 0, result.output
    assert "tags      not started" in result.output
    assert "next: imac-build tags" in result.output

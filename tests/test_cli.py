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
    assert f"next: imac-build --workdir {tmp_path / 'w'} tags" in result.output


def test_status_counts_unsearched_songs_and_new_songs(tmp_path: Path, runner) -> None:
    w = tmp_path / "w"
    (w / "tags").mkdir(parents=True)
    (w / "search").mkdir()
    header = "track_id,song_id,artist_name,title,release,duration,year,pos_score,neu_score," \
             "neg_score,label,tags\n"
    songs = [f"TRAAAAA128F00000{i:02d},,a,t,,,,1,0,0,positive,happy\n" for i in range(3)]
    (w / "tags/songs.csv").write_text(header + "".join(songs))
    m = "track_id,video_id,url,video_title,channel_title,video_duration,score,status,reason\n"
    m += "TRAAAAA128F0000000,abcdefghijk,http://x/a,t,c,200,90,matched,ok\n"
    m += "TRAAAAA128F0000001,,,,,,,no_match,not_searched: quota\n"
    (w / "search/matches.csv").write_text(m)
    out = runner.invoke(cli, ["--workdir", str(w), "status"]).output
    assert "search    stale" in out and "1 matched, 1 not searched; 1 new songs" in out
    assert f"next: imac-build --workdir {w} search (its inputs changed" in out
    (w / "search/matches.csv").write_text(
        m + "TRAAAAA128F0000002,,,,,,,no_match,below threshold\n")
    out = runner.invoke(cli, ["--workdir", str(w), "status"]).output
    assert "search    partial" in out and "1 no_match, 1 not searched" in out

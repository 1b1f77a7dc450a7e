"""Every command, run once with every option it has set to a non-default value (paths
included), on a copy of the demo work directory: it succeeds or refuses in one line, never
with an internal error.

This is the check that would have caught ``tags --exclusions FILE`` ending in an internal
error after its work (a Path-valued setting that no test recorded). The stages' settings
get their values from the configuration fields (so a new field is covered without editing
this file); every other option must have a value below, or the test fails.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from imac_builder import config as C
from imac_builder.cli import cli
from imac_builder.demo import sample_dir

pytestmark = pytest.mark.slow


def other_value(cls: type, f: dataclasses.Field, files: dict[str, Path]) -> str | None:
    """A valid value of a setting that is not its default, as command-line text (None
    for a flag, which is given alone)."""
    kind, default = C.field_type(cls, f.name), C.field_default(f)
    if kind is bool:
        return None
    if (choices := C.choices_of(f)) is not None:
        return next(c for c in choices if c != default)
    if f.metadata.get("path"):
        return str(files[f.name])
    if kind is tuple and C.item_type(cls, f.name) is int:
        return ",".join(str(v + 1) for v in default)
    if kind is tuple:
        return "bootleg"
    if kind is str:
        return "https://example.org/x" if "url" in f.name else "imac-x"
    if f.name == "rate":  # videos an hour: not the default, and quick (241 paces 15 s a video)
        return "36000"
    lo, hi, above = (f.metadata.get(k) for k in ("lo", "hi", "above"))
    base = default if default is not None else (lo if lo is not None else (above or 0) + 1)
    middle = (lo + hi) / 2 if lo is not None and hi is not None and kind is float else base
    for c in (base + 1, base - 1, middle):
        if c != default and (lo is None or c >= lo) and (hi is None or c <= hi) and \
                (above is None or c > above):
            return str(kind(c))
    raise AssertionError(f"no other value for {f.name}")


def _run_options(w: Path, tmp: Path) -> dict[str, dict[str, list[str]]]:
    """The options that are not settings: per command, option name -> arguments."""
    sample, media = sample_dir(), w / "demo-media"
    manifest = w / "manifests" / "imac-demo-0.1.0"
    cookies = tmp / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n")
    key = tmp / "key.txt"
    key.write_text("AIza" + "Q" * 35 + "\n")
    scores = tmp / "scores.csv"
    scores.write_text("song name,artist name,posScore,neuScore,negScore\nx,y,1,0,0\n")
    urls = tmp / "urls.txt"
    urls.write_text("https://127.0.0.1:9/none.jpg\n")
    votes = tmp / "votes"
    votes.mkdir()
    ytdlp = {"js_runtime": ["--js-runtime", "deno"],
             "cookies_from_browser": ["--cookies-from-browser", "firefox"],
             "extractor_args": ["--extractor-args", "youtube:player_client=mweb"]}
    # the subset options (--no-subset excludes them: NOT_HERE); the songs table is a
    # CSV with a track_id column, as --tracks takes
    subset = {"tracks": ["--tracks", str(w / "tags" / "songs.csv")],
              "per_class": ["--per-class", "1"], "classes": ["--classes", "positive"],
              "seed": ["--seed", "1"], "offset": ["--offset", "1"]}
    return {
        "tags": {"lastfm": ["--lastfm", str(sample / "lastfm_tags.db")],
                 "metadata": ["--metadata", str(sample / "unique_tracks.txt")],
                 "imac_scores": ["--imac-scores", str(scores)]},
        "search": {"limit": ["--limit", "1"], "rerank": ["--rerank"], "rematch": ["--rematch"],
                   "retry_failed": ["--retry-failed", "no_match"],
                   "api_key_file": ["--api-key-file", str(key)], **ytdlp, **subset},
        "download": {"retry_failed": ["--retry-failed"], "cookies": ["--cookies", str(cookies)],
                     "proxy": ["--proxy", "http://127.0.0.1:9"], "limit": ["--limit", "0"],
                     **ytdlp, **subset},
        "images": {"root": ["--image-root", str(media / "images")],
                   "votes": ["--votes", str(votes)], "urls": ["--urls", str(urls)],
                   "retry_failed": ["--retry-failed"], "offline": ["--offline"]},
        "features": {"scheduler": ["--scheduler", "tcp://127.0.0.1:9"],
                     "image_root": ["--image-root", str(media / "images")],
                     "force": ["--force"]},
        "split": {"image_root": ["--image-root", str(media / "images")]},
        "train": {"run": ["--run", "opt"], "device": ["--device", "cpu"],
                  "seeds": ["--seeds", "2"], "fresh": ["--fresh"]},
        "evaluate": {"run": ["--run", "demo"], "no_probes": ["--no-probes"]},
        "release": {"version": ["--version", "9.9.9"], "out": ["--out", str(tmp / "rel")],
                    "format_": ["--format", "hf"], "csv_safe": ["--csv-safe"]},
        "verify": {"manifest": [str(manifest)], "allow_missing": ["--allow-missing"],
                   "image_root": ["--image-root", str(media / "images")],
                   "jobs": ["--jobs", "2"], "workdir": ["--workdir", str(w)]},
        "rebuild": {"manifest": [str(manifest)], "allow_missing": ["--allow-missing"],
                    "image_root": ["--image-root", str(media / "images")],
                    "cookies": ["--cookies", str(cookies)],
                    "proxy": ["--proxy", "http://127.0.0.1:9"], **ytdlp,
                    "workdir": ["--workdir", str(tmp / "rebuilt")]},
        "diff": {"a": [str(manifest)], "b": [str(manifest)]},
        "plan": {"lastfm": ["--lastfm", str(sample / "lastfm_tags.db")],
                 "metadata": ["--metadata", str(sample / "unique_tracks.txt")],
                 "exclusions": ["--exclusions", str(tmp / "excl.txt")],
                 "rate": ["--rate", "100"], "daily_quota": ["--daily-quota", "500"],
                 "results": ["--results", "60"], "images": ["--images", "1000"],
                 "cores": ["--cores", "3"], **subset},
        "status": {"failures": ["--failures"]},
        "doctor": {"stages": ["--for", "tags"], "cookies": ["--cookies", str(cookies)],
                   "api_key_file": ["--api-key-file", str(key)],
                   "js_runtime": ["--js-runtime", "deno"], "device": ["--device", "cuda"]},
        "review": {"open_page": ["--open"], "jobs": ["--jobs", "1"]},
        "demo": {},  # --small: the demo fixture runs it (a whole demo is too slow here)
    }


#: Options not given here, with the reason (and the test that covers them).
NOT_HERE = {("review", "port"): "serves until Ctrl-C (tests/test_review.py runs it)",
            **{(c, "no_subset"): "excludes the subset options given here "
               "(tests/test_subset.py: it forgets the recorded subset)"
               for c in ("search", "download")}}
#: Options that exclude each other: each gets a run of its own (the others at default).
EXCLUSIVE = {"search": ("rerank", "rematch", "retry_failed")}
RUNS = [(name, mode) for name in cli.commands if name != "demo"
        for mode in EXCLUSIVE.get(name, ("",))]


@pytest.mark.parametrize("command,mode", RUNS, ids=[f"{c}-{m}" if m else c for c, m in RUNS])
def test_every_option_non_default(demo_small, tmp_path, command, mode):
    w = tmp_path / "demo"
    shutil.copytree(demo_small, w, symlinks=True)
    excl = tmp_path / "excl.txt"
    excl.write_text("sad\n")
    files = {"exclusions": excl}
    runs = _run_options(w, tmp_path)[command]
    cmd = cli.commands[command]
    args: list[str] = []
    settings = {f.name: f for f in dataclasses.fields(C.CONFIGS[command])} \
        if command in C.CONFIGS else {}
    for p in cmd.params:
        if p.name in ("quiet", "json") or p.name in EXCLUSIVE.get(command, ()) and \
                p.name != mode or (command, p.name) in NOT_HERE:
            continue
        if p.name in settings:
            value = other_value(C.CONFIGS[command], settings[p.name], files)
            flag = C.flag_of(settings[p.name])
            args += [flag] if value is None else [flag, value]
        else:
            assert p.name in runs, f"{command} {p.opts}: give it a non-default value here"
            args += runs[p.name]
    arguments = [a for p in cmd.params if isinstance(p, click.Argument)
                 for a in runs[p.name]]
    options = [a for a in args if a not in arguments]
    result = CliRunner().invoke(cli, ["--workdir", str(w), "-v", command, *arguments,
                                      *options, "--json"])
    out = result.output
    assert "internal error" not in out and "Traceback" not in out, out
    assert not isinstance(result.exception, Exception) or \
        isinstance(result.exception, SystemExit), repr(result.exception)
    if result.exit_code != 0:
        errors = [ln for ln in out.splitlines() if ln.startswith("Error:")]
        assert len(errors) == 1 and result.exit_code in (1, 2, 75), out
    print(f"{command}: exit {result.exit_code}: {out.strip().splitlines()[-1:]}")

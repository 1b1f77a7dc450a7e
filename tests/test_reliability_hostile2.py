"""Hostile input, round 2 (issue 28): hand-edited files, video ids, NaN, symlinked
bookkeeping, endless inputs. One class per section, each closed by one mechanism of
``imac_builder.guard``; every case runs the real CLI on a work directory written by hand
and asserts one line (or the counted bad line the journal design gives), the exit status,
nothing written outside the roots and nothing lost.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from badinputs import one_clean_line
from killharness import REPO, env

from imac_builder import tables as T
from imac_builder.cli import cli as imac_cli

TRIED: dict[str, list[bool]] = {}
EVIL = "--exec=touch PWNED;../../etc/passwd"


def held(cls: str, ok: bool = True) -> None:
    """Count a case of a class (printed for docs/reliability.md)."""
    TRIED.setdefault(cls, []).append(ok)
    print(f"\n[reliability] {cls}: {sum(TRIED[cls])}/{len(TRIED[cls])} held")


def tid(i: int) -> str:
    return f"TRHOST{i:012d}"


def vid(i: int) -> str:
    return f"vid{i:08d}"


def song(i: int) -> list[str]:
    return [tid(i), f"SO{i:016d}", f"Artist {i}", f"Song {i}", "R", "200", "2000", "1", "0",
            "0", "positive", "happy"]


def candidate(i: int, **over: object) -> dict:
    return {"video_id": vid(i), "title": f"Artist {i} - Song {i} (Official Audio)",
            "channel_title": f"Artist {i} - Topic", "duration": 200.0, "rank": 1,
            "url": f"http://127.0.0.1:9/{vid(i)}", **over}


def write_candidates(w: Path, cands: dict[int, list[dict]], extra: list[str] = ()) -> None:
    lines = [json.dumps({"track_id": tid(i), "query": f"Artist {i} Song {i}",
                         "backend": "api", "searched_at": "2026-01-01T00:00:00+00:00",
                         "candidates": c}) for i, c in cands.items()]
    p = T.CANDIDATES.at(w)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("\n".join([*lines, *extra]) + "\n", encoding="utf-8")


def workdir(root: Path, n: int = 3, matched: bool = True) -> Path:
    """songs, candidates (each song's own upload), matches, an empty segment table."""
    T.write_table(root, T.SONGS, [song(i) for i in range(n)])
    write_candidates(root, {i: [candidate(i)] for i in range(n)})
    T.write_table(root, T.MATCHES, [
        [tid(i), vid(i), f"http://127.0.0.1:9/{vid(i)}", f"Song {i}", "c", "200", "100.0",
         "matched", "ok"] if matched else
        [tid(i), "", "", "", "", "", "", "no_match", "below_threshold: x"] for i in range(n)])
    T.write_table(root, T.SEGMENTS, [])
    return root


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (links not followed) and its sha256."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_symlink():
            out[str(p.relative_to(folder))] = "-> " + os.readlink(p)
        elif p.is_file():
            out[str(p.relative_to(folder))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


BOOKKEEPING = ("logs", ".lock", "workdir.json")


def tables_of(w: Path) -> dict[str, str]:
    """The work directory's data (what a refused command must not lose or change)."""
    return {k: v for k, v in snapshot(w).items() if not k.startswith(BOOKKEEPING)}


@pytest.fixture
def box(tmp_path):
    """A work directory and an outside folder holding a file nobody may touch."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.txt").write_text("line 1\nline 2\nline 3\n")
    return tmp_path / "w", outside


def refused(runner, args: list[str], w: Path, outside: Path, *, code: int = 1) -> str:
    """Run the CLI; assert the exit status, one clean line, nothing changed outside and
    no table of the work directory lost or changed; return the line."""
    before_out, before_w = snapshot(outside), tables_of(w) if w.exists() else {}
    res = runner.invoke(imac_cli, ["--workdir", str(w), *args])
    assert res.exit_code == code, res.output
    line = one_clean_line(res)
    assert snapshot(outside) == before_out
    if before_w:
        assert tables_of(w) == before_w
    assert "\x1b" not in res.output and "\x07" not in res.output
    return line


def run(args: list[str], timeout: float = 30, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "imac_builder", *args], env=env(), cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, **kw)


def one_line(res: subprocess.CompletedProcess) -> str:
    text = res.stderr.strip()
    assert "Traceback" not in text and "internal error" not in text, text
    assert "Logging error" not in text, text
    assert len(text.splitlines()) == 1, text
    return text


def release_folder(w: Path, out: Path, runner, *extra: str) -> Path:
    res = runner.invoke(imac_cli, ["--workdir", str(w), "-q", "release", "--name", "imac",
                                   "--version", "1.0.0", "--out", str(out), *extra])
    assert res.exit_code == 0, res.output
    return out / "imac-1.0.0"


def refix(rel: Path, name: str) -> None:
    """Fix a tampered table's checksum, size and row count in manifest.json (a
    collaborator who edits a release and its checksums), so only the new checks can
    catch it."""
    doc = json.loads((rel / "manifest.json").read_text())
    data = (rel / name).read_bytes()
    rows = len(data.decode("utf-8", "replace").splitlines()) - 1
    doc["files"][name].update(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data),
                              rows=rows)
    doc["counts"][name[:-4]] = rows
    (rel / "manifest.json").write_text(json.dumps(doc))


# ------------------------------------------------------------------ 1. video ids
def test_a_hostile_candidate_id_is_a_counted_bad_line_never_chosen_or_released(box, runner):
    w, outside = box
    workdir(w)
    write_candidates(w, {0: [candidate(0, video_id=EVIL)], 1: [candidate(1)],
                         2: [candidate(2)]})
    res = runner.invoke(imac_cli, ["--workdir", str(w), "search", "--rerank"])
    assert res.exit_code == 0, res.output
    assert "1 unreadable candidates.jsonl lines" in res.output
    rows = {r["track_id"]: r for r in T.read_table(w, T.MATCHES)}
    assert rows[tid(0)]["status"] == "no_match" and rows[tid(1)]["video_id"] == vid(1)
    rel = release_folder(w, w.parent / "out", runner)
    assert EVIL not in "".join(p.read_text() for p in rel.iterdir())
    assert not (REPO / "PWNED").exists() and snapshot(outside) == {
        "victim.txt": hashlib.sha256(b"line 1\nline 2\nline 3\n").hexdigest()}
    held("video ids")


@pytest.mark.parametrize("where", ["matches", "overrides", "ledger"])
def test_a_hostile_video_id_in_a_table_is_refused_where_it_enters(box, runner, where):
    w, outside = box
    workdir(w)
    if where == "matches":
        rows = [r for r in T.read_table(w, T.MATCHES)]
        rows[0]["video_id"] = EVIL
        T.write_table(w, T.MATCHES, [[r[c] for c in T.MATCHES.columns] for r in rows])
        line = refused(runner, ["release", "--name", "imac", "--version", "1.0.0",
                                "--out", str(w.parent / "out")], w, outside)
        assert "is not a video id" in line and "videos.csv" in line
        # download skips and counts the row: the id never reaches yt-dlp
        from imac_builder.download.inputs import read_matches

        jobs, invalid = read_matches(w, {})
        assert invalid == 1 and EVIL not in [j.video_id for j in jobs]
    elif where == "overrides":
        T.OVERRIDES.at(w).write_text(f"track_id,video_id,note\n{tid(0)},{EVIL},x\n")
        line = refused(runner, ["search", "--rerank"], w, outside)
        assert "line 2" in line and "is not a video id" in line
    else:
        T.write_table(w, T.LEDGER, [[tid(0), EVIL, "http://127.0.0.1:9/x", "unavailable",
                                     "gone", "1", "2026-01-01T00:00:00Z", "0"]])
        line = refused(runner, ["download"], w, outside)
        assert "ledger.csv line 2" in line and "is not a video id" in line
    held("video ids")


@pytest.mark.parametrize("how", ["videos", "segments", "croissant"])
def test_a_release_with_a_hostile_id_or_an_edited_croissant_fails_verify(box, runner, how):
    w, outside = box
    workdir(w)
    rel = release_folder(w, w.parent / "out", runner)
    if how == "croissant":
        doc = json.loads((rel / "croissant.json").read_text())
        doc["license"] = "https://example.org/all-rights-reserved"
        (rel / "croissant.json").write_text(json.dumps(doc))
        want = "croissant.json does not match its checksum"
    else:
        name = f"{how}.csv"
        text = (rel / name).read_text()
        if how == "videos":
            text = text.replace(vid(0), EVIL.replace(",", ""), 1)
        else:
            text += f"{tid(0)}_000,{tid(0)},{EVIL},0,0,60,{'0' * 64},positive\n"
        (rel / name).write_text(text)
        refix(rel, name)
        want = "is not a video id"
    for args in (["verify", str(rel)], ["rebuild", str(rel)]):
        assert want in refused(runner, args, w, outside)
    held("video ids")


def test_the_journal_reader_counts_nan_and_overflow_as_bad_lines(tmp_path):
    from imac_builder.journal import Journal

    p = tmp_path / "j.jsonl"
    p.write_text('{"a": 1}\n{"a": NaN}\n{"a": -Infinity}\n{"a": 1e999}\n{"a": 2.5}\n')
    j = Journal(p)
    assert [r["a"] for r in j.replay()] == [1, 2.5] and j.bad_lines == 3
    held("finite numbers")


def test_the_video_id_rule_is_eleven_characters_full_match():
    from imac_builder import guard
    from imac_builder.errors import UserError

    assert guard.is_video_id("dQw4w9WgXcQ") and guard.is_video_id("a_b-C0123_9")
    for bad in ("dQw4w9WgXcQ\n", "dQw4w9WgXc", "dQw4w9WgXcQQ", "../../etc/p", "-o/tmp/x12",
                "dQw4w9WgXc;", "dQw4w9WgXc\u0661", 12345678901, None):
        assert not guard.is_video_id(bad), bad
    with pytest.raises(UserError, match="not a video id"):
        guard.video_id(EVIL, "x")


# ------------------------------------------------------------------ 2. finite numbers
@pytest.mark.parametrize("poison", ['"duration": NaN', '"duration": Infinity',
                                    '"rank": 1e999', '"duration": -1e999'])
def test_nan_and_overflow_in_candidates_are_counted_bad_lines(box, runner, poison):
    w, outside = box
    workdir(w)
    line = json.dumps({"track_id": tid(0), "query": "q", "backend": "api",
                       "candidates": [candidate(0)]})
    key = poison.split(":")[0]
    line = line.replace(f'{key}: {200.0 if "duration" in key else 1}', poison)
    assert poison in line
    write_candidates(w, {1: [candidate(1)], 2: [candidate(2)]}, [line])
    before = snapshot(outside)
    res = runner.invoke(imac_cli, ["--workdir", str(w), "search", "--rerank"])
    assert res.exit_code == 0, res.output
    assert "1 unreadable candidates.jsonl lines" in res.output
    rows = {r["track_id"]: r for r in T.read_table(w, T.MATCHES)}
    assert rows[tid(0)]["status"] == "no_match" and rows[tid(1)]["status"] == "matched"
    assert snapshot(outside) == before
    held("finite numbers")


@pytest.mark.parametrize("args, code, word", [  # the option's own check (config.problem)
    (["search", "--rerank", "--min-score", "nan"], 2, "finite"),
    (["search", "--rerank", "--min-title", "inf"], 2, "finite"),
    (["download", "--socket-timeout", "nan"], 2, "finite"),
    (["download", "--sleep", "nan"], 2, "finite")])
def test_nan_options_are_refused_in_one_line(box, runner, args, code, word):
    w, outside = box
    workdir(w)
    (w / "search" / "matches.csv").write_text("track_id,video_id\n")  # rewritten if it ran
    line = refused(runner, args, w, outside, code=code)
    assert word in line, line
    held("finite numbers")


def test_nan_in_a_pipeline_file_is_refused(box, runner):
    w, outside = box
    workdir(w)
    cfg = w.parent / "p.toml"
    cfg.write_text("[search]\nmin_score = nan\n")
    (w / "search" / "matches.csv").write_text("track_id,video_id\n")  # rewritten if it ran
    line = refused(runner, ["--config", str(cfg), "search", "--rerank"], w, outside)
    assert "min_score" in line and "finite" in line, line
    held("finite numbers")


def test_nan_durations_in_matches_and_nan_scores_are_not_numbers(box, runner):
    w, outside = box
    workdir(w)
    rows = [r for r in T.read_table(w, T.MATCHES)]
    rows[0]["video_duration"] = "nan"
    rows[1]["video_duration"] = "inf"
    T.write_table(w, T.MATCHES, [[r[c] for c in T.MATCHES.columns] for r in rows])
    res = runner.invoke(imac_cli, ["--workdir", str(w), "status"])
    assert res.exit_code == 0, res.output
    assert "internal error" not in res.output and "videos left" in res.output
    from imac_builder.tags.imac_scores import read_score_file

    scores = w.parent / "scores.csv"
    scores.write_text("song,artist,posScore,neuScore,negScore\nSong 0,Artist 0,NaN,0,0\n"
                      "Song 1,Artist 1,1,inf,0\nSong 2,Artist 2,1e999,0,0\nSong 3,A,1,0,0\n")
    got, bad = read_score_file(scores)
    assert bad == 3 and [r.song for r in got] == ["Song 3"]
    held("finite numbers")
    held("finite numbers")


@pytest.mark.parametrize("doc, what", [
    ({"days": {"2026-01-01": {"units": "lots"}}}, "units"),
    ({"days": {}, "daily_quota": 1e999}, "1e999"),
    ({"days": {}, "daily_quota": -5}, "daily_quota"),
    ({"days": {"2026-01-01": {"units": float("nan")}}}, "NaN"),
    ({"days": []}, "days"),
])
def test_a_hand_edited_quota_ledger_is_one_line(box, runner, doc, what):
    w, outside = box
    workdir(w)
    text = json.dumps(doc).replace("Infinity", "1e999")
    T.QUOTA.at(w).write_text(text)
    for args in (["status"], ["search", "--backend", "api"]):
        line = refused(runner, args, w, outside)
        assert "quota.json" in line and what in line, line
    assert T.QUOTA.at(w).read_text() == text  # not "repaired" silently
    held("finite numbers")


# ------------------------------------------------------------------ 3. hand-edited files
@pytest.mark.parametrize("state, what", [
    ({"configs": {"search": {"values": {"results": [10]}}}}, "search results"),
    ({"configs": {"download": {"values": {"rate": "fast"}}}}, "download rate"),
    ({"configs": ["search"]}, "configs"),
    ([1, 2], "not an object"),
    ("NaN", "not valid JSON"),
])
def test_a_hand_edited_workdir_json_is_one_line(box, runner, state, what):
    w, outside = box
    workdir(w)
    (w / "workdir.json").write_text(state if isinstance(state, str) else json.dumps(state))
    line = refused(runner, ["status"], w, outside)
    assert "workdir.json" in line and what in line, line
    held("hand-edited files")


@pytest.mark.parametrize("text", ["[]", '{"split_sha256": "ab', '{"test_accuracy": NaN}'])
def test_a_broken_metrics_json_is_one_line(box, runner, text):
    w, outside = box
    workdir(w)
    (w / "runs" / "r").mkdir(parents=True)
    (w / "runs" / "r" / "metrics.json").write_text(text)
    line = refused(runner, ["status"], w, outside)
    assert "runs/r/metrics.json" in line
    held("hand-edited files")


def test_a_query_that_is_a_list_is_a_counted_bad_line(box, runner):
    w, outside = box
    workdir(w)
    bad = json.dumps({"track_id": tid(0), "query": ["a", "b"], "candidates": []})
    write_candidates(w, {1: [candidate(1)], 2: [candidate(2)]}, [bad])
    res = runner.invoke(imac_cli, ["--workdir", str(w), "search", "--rerank"])
    assert res.exit_code == 0 and "1 unreadable candidates.jsonl lines" in res.output
    from imac_builder.search.stage import CandidateLog

    records, n_bad = CandidateLog(T.CANDIDATES.at(w)).read()
    assert n_bad == 1 and tid(0) not in records
    held("hand-edited files")


def test_a_non_utf8_ledger_makes_status_refuse_like_download(box, runner):
    w, outside = box
    workdir(w)
    T.LEDGER.at(w).write_bytes(",".join(T.LEDGER.columns).encode() + b"\n" + tid(0).encode()
                               + b",vid00000000,http://x/,network,caf\xe9,1,t,0\n")
    for args in (["download"], ["status", "--failures"]):
        line = refused(runner, args, w, outside)
        assert "ledger.csv" in line and "not UTF-8" in line
    held("hand-edited files")


# ------------------------------------------------------------------ 4. symlinked bookkeeping
@pytest.mark.parametrize("what", [".lock", "logs/imac-build.log", "logs",
                                  "search/candidates.jsonl",
                                  "download/.journal.jsonl", "search/quota.json",
                                  "workdir.json"])
def test_bookkeeping_linked_out_of_the_workdir_is_refused(box, runner, what):
    w, outside = box
    workdir(w)
    victim = outside / "victim.txt"
    if what == "download/.journal.jsonl":
        victim.write_text('{"ledger": {}, "segments": []}\n{"torn')  # would be cut
    if what == "search/candidates.jsonl":
        victim.write_text(T.CANDIDATES.at(w).read_text() + '{"torn')
        T.CANDIDATES.at(w).unlink()
    link = w / what
    link.parent.mkdir(parents=True, exist_ok=True)
    link.unlink(missing_ok=True)
    link.symlink_to(outside if what == "logs" else victim)
    args = {"download/.journal.jsonl": ["download"],
            "search/quota.json": ["search", "--backend", "api"]}.get(what,
                                                                    ["search", "--rerank"])
    line = refused(runner, args, w, outside)
    assert "symbolic link" in line and what.split("/")[-1] in line, line
    assert link.is_symlink()
    held("symlinked bookkeeping")


# ------------------------------------------------------------------ 5. endless inputs
def test_a_fifo_workdir_json_does_not_hang_status(box):
    w, outside = box
    workdir(w)
    os.mkfifo(w / "workdir.json")
    res = run(["--workdir", str(w), "status"], timeout=30)
    assert res.returncode == 1
    assert "FIFO" in one_line(res) and "workdir.json" in res.stderr
    held("endless inputs")


@pytest.mark.parametrize("kind", ["fifo", "zero"])
def test_cookie_files_that_never_end_are_refused_by_doctor_and_download(box, kind):
    w, outside = box
    workdir(w)
    cookies = outside / "cookies.txt"
    if kind == "fifo":
        os.mkfifo(cookies)
    else:
        cookies = Path("/dev/zero")
    res = run(["--workdir", str(w), "doctor", "--cookies", str(cookies)], timeout=60)
    assert "Traceback" not in res.stderr
    line = [x for x in res.stdout.splitlines() if "cookies" in x.lower()
            and str(cookies) in x]
    assert line and ("FIFO" in line[0] or "character device" in line[0]), res.stdout
    res = run(["--workdir", str(w), "download", "--cookies", str(cookies)], timeout=30)
    assert res.returncode == 1
    assert "not a file" in one_line(res)
    held("endless inputs")


@pytest.mark.parametrize("how", ["sparse", "fifo", "sparse-unrecorded"])
def test_verify_checks_type_and_size_before_hashing(box, runner, how):
    w, outside = box
    workdir(w)
    rel = release_folder(w, w.parent / "out", runner)
    status = rel / "status.csv"
    status.unlink()
    if how == "fifo":
        os.mkfifo(status)
    else:
        with open(status, "wb") as fh:
            fh.truncate(1 << 40)  # 1 TiB of nothing
    if how == "sparse-unrecorded":  # an older release: no sizes recorded
        doc = json.loads((rel / "manifest.json").read_text())
        for f in doc["files"].values():
            f.pop("bytes")
        doc.pop("croissant_sha256")
        (rel / "manifest.json").write_text(json.dumps(doc))
    res = run(["--workdir", str(w), "verify", str(rel)], timeout=30)
    assert res.returncode == 1
    line = one_line(res)
    assert "status.csv" in line and ("FIFO" in line or "1,099,511,627,776 bytes" in line)
    held("endless inputs")


# ------------------------------------------------------------------ 6. the others
def test_overrides_twice_unknown_and_blank(box, runner):
    w, outside = box
    workdir(w)
    T.OVERRIDES.at(w).write_text(f"track_id,video_id,note\n{tid(0)},skip,a\n,,\n"
                                 f"{tid(0)} ,{vid(5)},b\n")
    line = refused(runner, ["search", "--rerank"], w, outside)
    assert tid(0) in line and "2" in line and "4" in line and "appears twice" in line
    T.OVERRIDES.at(w).write_text(f"track_id,video_id,note\n{tid(0)},skip,a\n,,\n,,\n"
                                 f"{tid(9)},{vid(9)},not a song\n")
    res = runner.invoke(imac_cli, ["--workdir", str(w), "search", "--rerank"])
    assert res.exit_code == 0, res.output
    assert f"1 rows of search/overrides.csv name tracks not in tags/songs.csv (first: " \
           f"{tid(9)})" in res.output
    res = runner.invoke(imac_cli, ["--workdir", str(w), "status"])
    assert "2 songs decided by hand" in res.output  # the blank rows decide nothing
    held("others")
    held("others")
    held("others")


def test_a_utf16_score_file_is_refused_not_guessed(tmp_path):
    from imac_builder.errors import UserError
    from imac_builder.tags.imac_scores import read_score_file

    p = tmp_path / "scores.csv"
    p.write_text("song,artist,posScore,neuScore,negScore\nCafé,A,1,0,0\n", encoding="utf-16")
    with pytest.raises(UserError, match="UTF-16"):
        read_score_file(p)
    held("others")


def test_control_characters_are_escaped_in_every_message(box, runner):
    w, outside = box
    bell = w.parent / "w\x1b[2J\x07"
    res = runner.invoke(imac_cli, ["--workdir", str(bell), "verify", str(outside)])
    assert res.exit_code in (1, 2)
    assert "\x1b" not in res.output and "\x07" not in res.output and "\\x1b" in res.output
    workdir(w)
    T.OVERRIDES.at(w).write_text(f"track_id,video_id,note\n{tid(0)},skip,\x1b]0;owned\x07\n"
                                 f"TR\x1b[31mX,skip,\n")
    line = refused(runner, ["search", "--rerank"], w, outside)
    assert "\\x1b" in line
    from imac_builder.guard import printable

    assert printable("a\x1b[31m\x07\r\n\u202eb") == "a\\x1b[31m\\x07\\r\\n\\u202eb"
    held("others")


def test_a_work_directory_name_that_is_not_utf8_is_one_line(tmp_path):
    w = os.fsencode(tmp_path) + b"/w\xff"
    workdir(Path(os.fsdecode(w)))
    for args, code in (([], 0), (["--workdir", w + b"/absent"], 1)):
        res = subprocess.run([sys.executable, "-m", "imac_builder", "--workdir", w, *args,
                              "search", "--rerank"], env=env(), cwd=REPO,
                             capture_output=True, timeout=60)
        err = res.stderr.decode("utf-8", "replace").strip()
        assert res.returncode == code, err
        assert "Logging error" not in err and "Traceback" not in err
        assert len(err.splitlines()) == code, err  # the summary on stdout; one error line
    log = Path(os.fsdecode(w)) / "logs" / "imac-build.log"
    assert "\\udcff" in log.read_text()  # the name escaped in the log, not lost
    held("others")
    held("others")


def test_demo_refuses_a_work_directory_with_another_build(box, runner):
    w, outside = box
    workdir(w)
    line = refused(runner, ["demo", "--small"], w, outside)
    assert "not the demo's" in line and "--force" in line
    held("others")


@pytest.mark.parametrize("version", ["2\u0660.0.0", "\uff11.0.0", "1.0.\u0e53"])
def test_a_version_with_non_ascii_digits_is_refused(box, runner, version):
    w, outside = box
    workdir(w)
    line = refused(runner, ["release", "--name", "imac", "--version", version, "--out",
                            str(w.parent / "out")], w, outside)
    assert "is not a version" in line
    held("others")


def test_a_full_disk_on_out_names_out(box, runner, monkeypatch):
    from imac_builder import atomic

    w, outside = box
    workdir(w)
    out = w.parent / "out"
    real = atomic.publish

    def full(tmp, path):  # ENOSPC at the write layer, as a full --out disk gives it
        if str(out) in str(tmp):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(tmp, path)

    monkeypatch.setattr(atomic, "publish", full)
    line = refused(runner, ["release", "--name", "imac", "--version", "1.0.0", "--out",
                            str(out)], w, outside)
    assert line.startswith(f"Error: --out {out}: disk full"), line
    assert list(out.iterdir()) == []  # no half release left
    held("others")


def test_spreadsheet_formulas_are_reported_and_neutralised_on_request(box, runner):
    w, outside = box
    workdir(w)
    evil = "=cmd|' /C calc'!A0"
    rows = [song(i) for i in range(3)]
    rows[1][3] = evil
    rows[2][2] = "-5"  # a number is no formula
    T.write_table(w, T.SONGS, rows)
    out = w.parent / "out"
    res = runner.invoke(imac_cli, ["--workdir", str(w), "release", "--name", "imac",
                                   "--version", "1.0.0", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "1 cells start like a spreadsheet formula" in res.output and "--csv-safe" in \
        res.output
    rel = out / "imac-1.0.0"
    got = {r["track_id"]: r for r in csv.DictReader((rel / "songs.csv").open())}
    assert got[tid(1)]["title"] == evil  # the data are never altered
    assert not (rel / "spreadsheet").exists()
    res = runner.invoke(imac_cli, ["--workdir", str(w), "verify", str(rel)])
    assert "1 cells start like a spreadsheet formula" in res.output
    res = runner.invoke(imac_cli, ["--workdir", str(w), "release", "--name", "imac",
                                   "--version", "1.0.1", "--out", str(out), "--csv-safe"])
    assert res.exit_code == 0, res.output
    safe = {r["track_id"]: r for r in csv.DictReader(
        (out / "imac-1.0.1" / "spreadsheet" / "songs.csv").open())}
    assert safe[tid(1)]["title"] == "'" + evil and safe[tid(2)]["artist_name"] == "-5"
    got = {r["track_id"]: r for r in csv.DictReader((out / "imac-1.0.1/songs.csv").open())}
    assert got[tid(1)]["title"] == evil
    held("others")


def test_report_hostile2_total():
    print("\n[reliability] hostile round 2: " + ", ".join(
        f"{k} {sum(v)}/{len(v)}" for k, v in TRIED.items()))

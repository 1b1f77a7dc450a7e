"""``imac-build review`` without a browser: the page data from the real tables, the escaping
of hostile titles, the summary beside ``status``, the score cache, the server's checks
(Host, Origin, token, strict JSON, size, the lock) and one-line errors."""

from __future__ import annotations

import csv
import http.client
import json
import re
import threading
from pathlib import Path

import pytest

pytest.importorskip("rapidfuzz")

from tagdata import write_songs_csv  # noqa: E402

from imac_builder import tables as T  # noqa: E402
from imac_builder.cli import cli  # noqa: E402
from imac_builder.errors import UserError  # noqa: E402
from imac_builder.review import write_review  # noqa: E402
from imac_builder.review.data import CANDIDATE_FIELDS, SONG_FIELDS, embed_json  # noqa: E402
from imac_builder.review.server import MAX_BODY, Refused, ReviewServer, parse_decisions  # noqa: E402
from imac_builder.search.match import Candidate, MatchConfig, score_candidate  # noqa: E402
from imac_builder.search.stage import run_search  # noqa: E402
from imac_builder.workdir import Workdir  # noqa: E402

T1, T2, T3, T4 = (f"TRAAAAA128F000000{i}" for i in range(1, 5))
HOSTILE = "<img src=x onerror=alert(1)></script><script>alert(2)</script>"
RTL = "Evil \u202egnp.exe\u202c title"


def _cand(vid: str, title: str, channel: str, duration: float | None, rank: int,
          url: str = "") -> dict:
    return {"video_id": vid, "title": title, "channel_title": channel, "duration": duration,
            "rank": rank, "url": url or f"https://www.youtube.com/watch?v={vid}"}


def make_workdir(root: Path) -> Workdir:
    """Four songs: matched, no match (hostile candidates), failed download, not searched."""
    wd = write_songs_csv(root, [(T1, "Adele", "Hello", "295"), (T2, "Sugarland", "Stay", "213"),
                                (T3, "Radiohead", "Creep", "238"), (T4, "Portishead", "Roads",
                                                                    "305")])
    recs = [
        {"track_id": T1, "query": "Adele Hello", "backend": "api", "searched_at": "x",
         "candidates": [_cand("YQHsXMglC9A", "Adele - Hello (Live at the NRJ Awards)",
                              "AdeleVEVO", 320, 0),
                        _cand("be12BC5pQLE", "Hello", "Adele - Topic", 296, 1)]},
        {"track_id": T2, "query": "Sugarland Stay", "backend": "api", "searched_at": "x",
         "candidates": [_cand("hostile0001", HOSTILE, "Evil", 213, 0),
                        _cand("javascript1", "javascript:alert(3)", "Evil", 213, 1,
                              url="javascript:alert(4)"),
                        _cand("rtlrtlrtl01", RTL, "Evil \u202e", 400, 2)]},
        {"track_id": T3, "query": "Radiohead Creep", "backend": "api", "searched_at": "x",
         "candidates": [_cand("XFkzRNyygfk", "Radiohead - Creep", "Radiohead", 239, 0),
                        _cand("creep000002", "Radiohead - Creep (Acoustic)", "Fans", 239, 1)]},
    ]
    with (wd.stage("search") / "candidates.jsonl").open("w", encoding="utf-8") as fh:
        for r in recs:
            fh.write(json.dumps(r) + "\n")
        fh.write("{not json\n")  # a damaged line: counted, never fatal
    T.write_table(root, T.LEDGER, [
        (T1, "be12BC5pQLE", "u", "ok", "", 1, "t", 4),
        (T3, "XFkzRNyygfk", "u", "unavailable", "Video unavailable", 1, "t", 0)])
    T.write_table(root, T.FAILED_VIDEOS, [(T3, "XFkzRNyygfk", "unavailable", "gone", "t")])
    run_search(wd, rerank=True, progress=False)
    return wd


def page_data(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="review-data">(.*?)</script>', html,
                  re.S)
    assert m is not None
    return json.loads(m.group(1))


def rows(data: dict) -> dict[str, dict]:
    out = {}
    for s in data["songs"]:
        d = dict(zip(SONG_FIELDS, s, strict=True))
        d["candidates"] = [dict(zip(CANDIDATE_FIELDS, c, strict=True)) for c in d["candidates"]]
        out[d["track_id"]] = d
    return out


def test_page_holds_every_song_its_choice_scores_and_download(tmp_path: Path) -> None:
    wd = make_workdir(tmp_path / "w")
    summary = write_review(wd, jobs=1)
    assert summary.songs == 4 and summary.candidates == 7 and summary.bad_lines == 1
    html = (wd.root / "review" / "index.html").read_text(encoding="utf-8")
    assert "http://" not in html.replace("http://www.w3.org", "")  # no CDN, nothing fetched
    assert "<link" not in html and 'src="' not in html
    s = rows(page_data(html))
    assert s[T1]["status"] == "matched" and s[T1]["video_id"] == "be12BC5pQLE"
    assert s[T1]["download"][0] == "ok" and s[T1]["download"][3] == "4"
    assert s[T2]["status"] == "no_match" and s[T2]["reason_word"] == "below_threshold"
    # T3's best video failed for good: the page says so on that candidate
    c3 = {c["video_id"]: c for c in s[T3]["candidates"]}
    assert c3["XFkzRNyygfk"]["excluded"] == "unavailable"
    assert s[T3]["failed_videos"] == [["XFkzRNyygfk", "unavailable", "gone"]]
    assert s[T4]["reason_word"] == "not_searched" and s[T4]["candidates"] == []
    # each candidate's score is the chooser's own, with the settings search ran with
    for c in s[T1]["candidates"]:
        want = score_candidate("Adele", "Hello", 295.0, Candidate(
            c["video_id"], c["title"], c["channel"], c["duration"], c["rank"], ""),
            MatchConfig())
        assert c["score"] == want.score and c["failed"] == want.failed
        assert c["penalties"] == want.penalties
    assert any("live" in p for c in s[T1]["candidates"] for p in c["penalties"])


def test_hostile_titles_cannot_leave_the_data_block(tmp_path: Path) -> None:
    wd = make_workdir(tmp_path / "w")
    write_review(wd, jobs=1)
    html = (wd.root / "review" / "index.html").read_text(encoding="utf-8")
    assert html.count("</script>") == 2  # the data block and the page's own script
    assert "<img" not in html and "alert(2)</script>" not in html
    titles = [c["title"] for c in rows(page_data(html))[T2]["candidates"]]
    assert titles == [HOSTILE, "javascript:alert(3)", RTL]  # kept exactly, as data
    assert "javascript:alert(4)" not in html  # a stored url is never used: links come from ids
    assert "innerHTML" not in html and "insertAdjacentHTML" not in html
    text = embed_json({"t": "</script><!-- \u2028 & >"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"t": "</script><!-- \u2028 & >"}


def test_summary_is_what_status_prints(tmp_path: Path) -> None:
    from imac_builder.status import workdir_status
    from imac_builder.tags.report import PAPER_SONGS

    wd = make_workdir(tmp_path / "w")
    T.write_table(wd.root, T.OVERRIDES, [(T2, "skip", "a cover")])
    run_search(wd, rerank=True, progress=False)
    write_review(wd, jobs=1)
    sm = page_data((wd.root / "review" / "index.html").read_text(encoding="utf-8"))["summary"]
    st = workdir_status(wd)
    assert sm["status_lines"] == st.lines()
    # T3's failed video is no longer chosen after the rerank, so status counts the song
    # under search (its no_match) and no longer under download (issue 27's stale rows)
    assert sm["failures_by_reason"] == st.failures_by_reason == {
        "search": {"below_threshold": 1}}
    assert sm["overrides"] == st.overrides == 1
    assert sm["labels"] == [["positive", 4, PAPER_SONGS["positive"]],
                            ["neutral", 0, PAPER_SONGS["neutral"]],
                            ["negative", 0, PAPER_SONGS["negative"]]]
    assert sm["stages"]["search"] == [s for s in
                                      ([x.state, x.detail] for x in st.stages
                                       if x.stage == "search")][0]
    s = rows(page_data((wd.root / "review" / "index.html").read_text(encoding="utf-8")))
    assert s[T2]["override"] == "skip" and s[T2]["reason_word"] == "skipped"


def test_scores_are_cached_until_the_settings_or_candidates_change(tmp_path: Path) -> None:
    from imac_builder.workdir import update_state

    wd = make_workdir(tmp_path / "w")
    assert write_review(wd, jobs=1).scored_now == 0  # the search's search/scores.json
    (wd.root / "search" / "scores.json").unlink()
    assert write_review(wd, jobs=1).scored_now == 3
    assert write_review(wd, jobs=1).scored_now == 0  # review's own cache
    with (wd.root / "search" / "candidates.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"track_id": T4, "query": "q", "backend": "api", "searched_at": "x",
                             "candidates": [_cand("roads000001", "Roads", "Portishead",
                                                  305, 0)]}) + "\n")
    assert write_review(wd, jobs=1).scored_now == 1
    values = {"min_score": 10.0}
    update_state(wd.root, configs={"search": {"hash": "x", "values": values}})
    summary = write_review(wd, jobs=1)
    assert summary.scored_now == 4
    s = rows(page_data((wd.root / "review" / "index.html").read_text(encoding="utf-8")))
    assert not any("< 75" in f for c in s[T1]["candidates"] for f in c["failed"])


def test_the_search_stored_scores_are_the_ones_review_computes(tmp_path: Path) -> None:
    """search/scores.json (the decision's own scores; a failed video's scored apart)
    gives the page review writes when it scores every candidate itself."""
    wd = make_workdir(tmp_path / "w")
    page = wd.root / "review" / "index.html"
    assert write_review(wd, jobs=1).scored_now == 0
    stored = page_data(page.read_text(encoding="utf-8"))["songs"]
    (wd.root / "search" / "scores.json").unlink()
    assert write_review(wd, jobs=1).scored_now == 3
    assert page_data(page.read_text(encoding="utf-8"))["songs"] == stored
    t3 = rows(page_data(page.read_text(encoding="utf-8")))[T3]["candidates"]
    assert t3[0]["excluded"] and t3[0]["score"] > t3[1]["score"]


def test_an_edited_score_file_is_never_shown(tmp_path: Path) -> None:
    """A hand-edited entry of search/scores.json (another shape, or another song's
    key) is scored again, never shown."""
    wd = make_workdir(tmp_path / "w")
    path = wd.root / "search" / "scores.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["songs"][T1][1][0][0] = "99"  # a score that is not a number
    doc["songs"][T2][0] = "0" * 20  # another key
    doc["songs"][T3][1] = doc["songs"][T3][1][:1]  # a row short
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert write_review(wd, jobs=1).scored_now == 3
    path.write_text("[1, 2", encoding="utf-8")
    assert write_review(wd, jobs=1).scored_now == 0  # review's own cache now


@pytest.mark.parametrize("value", [
    "1" + "0" * 400,  # a whole number no float holds (math.isfinite overflowed on it)
    "1e308", "-5", "100.5",  # out of a score's range
])
def test_a_score_out_of_range_is_scored_again(tmp_path: Path, value: str) -> None:
    wd = make_workdir(tmp_path / "w")
    path = wd.root / "search" / "scores.json"
    text = path.read_text(encoding="utf-8")
    doc = json.loads(text)
    first = json.dumps(doc["songs"][T1][1][0][0])
    path.write_text(text.replace(f"[[{first},", f"[[{value},", 1), encoding="utf-8")
    assert write_review(wd, jobs=1).scored_now == 1


def test_a_lone_surrogate_in_a_title_or_a_stored_score_is_written(tmp_path: Path) -> None:
    """JSON may carry "\\ud800" (half a character): search's reading of candidates.jsonl
    replaces it by the replacement character, and the page is written, never an internal
    error."""
    wd = make_workdir(tmp_path / "w")
    clog = wd.root / "search" / "candidates.jsonl"
    clog.write_text(clog.read_text(encoding="utf-8").replace(
        "Radiohead - Creep (Acoustic)", "Radiohead - Creep \\ud800(Acoustic)"), encoding="utf-8")
    assert "\\ud800" in clog.read_text(encoding="utf-8")
    summary = write_review(wd, jobs=1)
    assert summary.songs == 4
    page = (wd.root / "review" / "index.html").read_text(encoding="utf-8")
    c3 = {c["video_id"]: c for c in rows(page_data(page))[T3]["candidates"]}
    assert c3["creep000002"]["title"] == "Radiohead - Creep \ufffd(Acoustic)"


def test_parallel_scoring_gives_the_same_page(tmp_path: Path, monkeypatch) -> None:
    from imac_builder.review import data

    wd = make_workdir(tmp_path / "w")
    (wd.root / "search" / "scores.json").unlink()
    write_review(wd, jobs=1)
    one = page_data((wd.root / "review" / "index.html").read_text(encoding="utf-8"))["songs"]
    (wd.root / "review" / ".scores.json").unlink()
    monkeypatch.setattr(data, "PARALLEL_FROM", 1)
    write_review(wd, jobs=2)
    two = page_data((wd.root / "review" / "index.html").read_text(encoding="utf-8"))["songs"]
    assert one == two


KNOWN = {T1, T2}


@pytest.mark.parametrize("body, status", [
    (b"not json", 400),
    (b'{"token": "t", "decisions": [], "x": 1}', 400),
    (b'{"token": "t", "token": "t", "decisions": []}', 400),
    (b'{"token": "wrong", "decisions": [{"track_id": "%s", "video_id": "skip"}]}' % T1.encode(),
     403),
    (b'{"token": "t", "decisions": []}', 400),
    (b'{"token": "t", "decisions": [{"track_id": "TRZZZZZ128F0000009", "video_id": "skip"}]}',
     400),
    (b'{"token": "t", "decisions": [{"track_id": "%s", "video_id": "short"}]}' % T1.encode(),
     400),
    (b'{"token": "t", "decisions": [{"track_id": "%s", "video_id": "javascript:"}]}'
     % T1.encode(), 400),
    (b'{"token": "t", "decisions": [{"track_id": "%s", "video_id": "skip", "note": "a\\nb"}]}'
     % T1.encode(), 400),
    (b'{"token": "t", "decisions": [{"track_id": "%s", "video_id": "skip", "x": 1}]}'
     % T1.encode(), 400),
    (b'{"token": "t", "decisions": [{"track_id": "%s", "video_id": NaN}]}' % T1.encode(), 400),
    (b'{"token": "t", "decisions": [{"track_id": "%s", "video_id": "skip"},'
     b' {"track_id": "%s", "video_id": "skip"}]}' % (T1.encode(), T1.encode()), 400),
    (b'{"token": "t", "decisions": [{"track_id": "%s", "video_id": "skip", "note": "%s"}]}'
     % (T1.encode(), b"n" * 301), 400),
])
def test_posted_decisions_are_checked_strictly(body: bytes, status: int) -> None:
    with pytest.raises(Refused) as e:
        parse_decisions(body, "t", KNOWN)
    assert e.value.status == status


def test_good_decisions_parse() -> None:
    body = json.dumps({"token": "t", "decisions": [
        {"track_id": T1, "video_id": "be12BC5pQLE", "note": " chosen "},
        {"track_id": T2, "video_id": None}]}).encode()
    assert parse_decisions(body, "t", KNOWN) == [(T1, "be12BC5pQLE", "chosen"), (T2, None, "")]


@pytest.fixture
def server(tmp_path: Path):
    wd = make_workdir(tmp_path / "w")
    srv = ReviewServer(wd, 0, jobs=1)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _request(srv: ReviewServer, method: str, path: str, body: bytes | None = None,
             headers: dict | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    h = {"Host": f"127.0.0.1:{srv.port}", "Origin": f"http://127.0.0.1:{srv.port}",
         "Content-Type": "application/json"}
    h.update(headers or {})
    h = {k: v for k, v in h.items() if v is not None}
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    out = r.status, r.read()
    conn.close()
    return out


def test_server_saves_decisions_and_rerank_applies_them(server: ReviewServer) -> None:
    srv = server
    status, page = _request(srv, "GET", "/")
    assert status == 200 and srv.token in page.decode()
    assert srv.server_address[0] == "127.0.0.1"
    body = json.dumps({"token": srv.token, "decisions": [
        {"track_id": T2, "video_id": "javascript1", "note": "chosen in review"},
        {"track_id": T3, "video_id": "skip", "note": "skipped in review"}]}).encode()
    status, answer = _request(srv, "POST", "/overrides", body)
    assert status == 200, answer
    doc = json.loads(answer)
    assert doc["overrides"] == {T2: ["javascript1", "chosen in review"],
                                T3: ["skip", "skipped in review"]}
    run_search(srv.workdir, rerank=True, progress=False)
    with T.MATCHES.at(srv.workdir.root).open(encoding="utf-8", newline="") as fh:
        m = {r["track_id"]: r for r in csv.DictReader(fh)}
    assert m[T2]["status"] == "matched" and m[T2]["video_id"] == "javascript1"
    assert m[T2]["reason"].startswith("override:")
    assert m[T3]["status"] == "no_match" and m[T3]["reason"].startswith("skipped:")
    # the reloaded page shows them as decided; removing one row keeps the other
    s = rows(page_data(_request(srv, "GET", "/")[1].decode()))
    assert s[T2]["override"] == "javascript1" and s[T2]["reason_word"] == "override"
    body = json.dumps({"token": srv.token, "decisions": [
        {"track_id": T2, "video_id": None}]}).encode()
    assert _request(srv, "POST", "/overrides", body)[0] == 200
    with T.OVERRIDES.at(srv.workdir.root).open(encoding="utf-8", newline="") as fh:
        assert list(csv.reader(fh)) == [["track_id", "video_id", "note"],
                                        [T3, "skip", "skipped in review"]]


def test_server_refuses_other_hosts_origins_and_bodies(server: ReviewServer) -> None:
    srv = server
    good = json.dumps({"token": srv.token, "decisions": [
        {"track_id": T1, "video_id": "skip"}]}).encode()
    assert _request(srv, "GET", "/", headers={"Host": "evil.example:80"})[0] == 421
    assert _request(srv, "GET", "/", headers={"Host": f"evil.example:{srv.port}"})[0] == 421
    assert _request(srv, "GET", "/etc/passwd")[0] == 404
    assert _request(srv, "POST", "/overrides", good, {"Origin": "http://evil.example"})[0] == 403
    assert _request(srv, "POST", "/overrides", good, {"Origin": None})[0] == 403
    assert _request(srv, "POST", "/overrides", good, {"Sec-Fetch-Site": "cross-site"})[0] == 403
    assert _request(srv, "POST", "/overrides", good, {"Content-Type": "text/plain"})[0] == 415
    assert _oversized(srv) == 413
    assert _request(srv, "POST", "/overrides", good, {"Host": "evil.example"})[0] == 421
    assert not T.OVERRIDES.at(srv.workdir.root).exists()
    # a stage holding the work directory's lock: nothing is written, the page says why
    with srv.workdir.lock("search"):
        status, answer = _request(srv, "POST", "/overrides", good)
    assert status == 409 and "in use" in json.loads(answer)["error"]
    assert not T.OVERRIDES.at(srv.workdir.root).exists()
    assert _request(srv, "POST", "/overrides", good)[0] == 200


def _oversized(srv: ReviewServer) -> int:
    """A body announced over the limit is refused before it is read (the status only)."""
    import socket

    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
        sock.sendall((f"POST /overrides HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n"
                      f"Origin: http://127.0.0.1:{srv.port}\r\n"
                      "Content-Type: application/json\r\n"
                      f"Content-Length: {MAX_BODY + 1}\r\n\r\n{{").encode())
        return int(sock.recv(4096).split()[1])


def _run(runner, *args: str):
    return runner.invoke(cli, list(args))


def test_cli_writes_the_page_and_errors_are_one_line(tmp_path: Path, runner) -> None:
    r = _run(runner, "--workdir", str(tmp_path / "none"), "review")
    assert r.exit_code != 0 and "does not exist" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "none").exists()
    wd = make_workdir(tmp_path / "w")
    r = _run(runner, "--workdir", str(wd.root), "review")
    assert r.exit_code == 0, r.output
    assert "4 songs, 7 candidates" in r.output and (wd.root / "review/index.html").is_file()
    r = _run(runner, "--workdir", str(wd.root), "--json", "review")
    assert json.loads(r.output)["songs"] == 4
    # hand-edited tables: one line each
    T.OVERRIDES.at(wd.root).write_text(f"track_id,video_id,note\n{T1},not a video!,x\n")
    r = _run(runner, "--workdir", str(wd.root), "review")
    assert r.exit_code == 1 and "line 2" in r.output and len(r.output.strip().splitlines()) == 1
    T.OVERRIDES.at(wd.root).unlink()
    T.MATCHES.at(wd.root).write_text("track_id,video_id\nTRX,\n")
    r = _run(runner, "--workdir", str(wd.root), "review")
    assert r.exit_code == 1 and "lacks the column" in r.output
    assert len(r.output.strip().splitlines()) == 1
    T.MATCHES.at(wd.root).write_bytes(b"track_id,video_id\n\xff\xfe\n")
    r = _run(runner, "--workdir", str(wd.root), "review")
    assert r.exit_code == 1 and "UTF-8" in r.output
    T.MATCHES.at(wd.root).unlink()
    r = _run(runner, "--workdir", str(wd.root), "review")
    assert r.exit_code == 1 and "run `imac-build search` first" in r.output


def test_serve_port_in_use_is_one_line(tmp_path: Path) -> None:
    import socket

    wd = make_workdir(tmp_path / "w")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(UserError, match="cannot serve on 127.0.0.1"):
            ReviewServer(wd, s.getsockname()[1], jobs=1)


def test_the_written_page_says_the_rerank_command_for_its_own_work_directory() -> None:
    from imac_builder.review.page import ReviewSummary

    last = ReviewSummary(page="p.html", workdir="/tmp/my data").lines()[-1]
    assert last.endswith("then run: imac-build --workdir '/tmp/my data' search --rerank")


@pytest.mark.parametrize("name", ["/tmp/my data", "new\nline", "esc\x1b[31m", "it's",
                                  "back\\slash", "-x", "caf\udce9"])
def test_a_pasted_command_names_the_same_folder_in_bash(name: str) -> None:
    import shutil
    import subprocess

    from imac_builder.workdir import command

    if shutil.which("bash") is None:
        pytest.skip("no bash on this machine")
    line = command(name, "search", "--rerank")
    assert line.isprintable()
    quoted = line.removeprefix("imac-build --workdir ").removesuffix(" search --rerank")
    out = subprocess.run(["bash", "-c", f"printf %s {quoted}"], capture_output=True,
                         check=True).stdout
    assert out == name.encode("utf-8", "surrogateescape")


def test_status_quotes_a_pipeline_file_name_bash_reads_back(tmp_path) -> None:
    from click.testing import CliRunner

    from imac_builder.cli import cli

    (tmp_path / "w").mkdir()
    toml = tmp_path / "c\nx.toml"
    toml.write_text("[search]\nmin_score = 70\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["--workdir", str(tmp_path / "w"), "--config", str(toml),
                                   "status"])
    assert res.exit_code == 0, res.output
    assert f"--config $'{tmp_path}/c\\x0ax.toml'" in res.output


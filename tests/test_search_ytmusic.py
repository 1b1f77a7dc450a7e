"""The ytmusic backend on real recorded YouTube Music responses, read by ytmusicapi's own
parsers (never the network), and the backend registry.

``tests/data/ytmusic_search_recorded.json.gz``: YouTube Music's real answers to one
"songs" and one "videos" search (Eartha Kitt, "Santa Baby"), as spotDL's test suite
recorded them (public repository spotDL/spotify-downloader,
tests/cassettes/test_matching/test_ytmusic_matching[...1foCxQtxBweJtZmdxhEHVO...].yaml,
extracted by tests/make_real_lists.py's reader). They were recorded with hl=de, so the
shelves are titled "Titel"/"Videos"; ytmusicapi 1.12 keeps a filtered shelf only when
its title carries the English word, as YouTube writes it for hl=en (what the backend
asks for), so the test names the shelves in English and changes nothing else.
"""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest

from imac_builder.config import SearchConfig

pytest.importorskip("rapidfuzz")
pytest.importorskip("ytmusicapi")

from tagdata import write_songs_csv  # noqa: E402
from ytm_replay import ReplayAdapter, replay_session  # noqa: E402

from imac_builder.cli import cli  # noqa: E402
from imac_builder.search import registry  # noqa: E402
from imac_builder.search.backend import Backoff, SearchError  # noqa: E402
from imac_builder.search.match import Candidate, MatchConfig, choose  # noqa: E402
from imac_builder.search.stage import run_search  # noqa: E402
from imac_builder.search.ytmusic_search import YtmusicBackend  # noqa: E402

DATA = Path(__file__).parent / "data" / "ytmusic_search_recorded.json.gz"
T1 = "TRAAAAA128F0000001"
#: The song as Spotify gives it (the cassette's track): 206.066 s.
SONG = (T1, "Eartha Kitt", "Santa Baby (with Henri René & His Orchestra)", "206.066")


def recorded() -> dict[tuple[str, str], dict]:
    """The two recorded responses, answering any query with the filter they were for."""
    from ytmusicapi.parsers.search import get_search_params

    doc = json.loads(gzip.decompress(DATA.read_bytes()).decode("utf-8"))
    out = {}
    for kind, rec in doc.items():
        for sec in (rec["response"]["contents"]["tabbedSearchResultsRenderer"]["tabs"][0]
                    ["tabRenderer"]["content"]["sectionListRenderer"]["contents"]):
            if "musicShelfRenderer" in sec:
                sec["musicShelfRenderer"]["title"]["runs"][0]["text"] = kind.capitalize()
        out[("*", get_search_params(kind, None, False))] = rec["response"]
    return out


def backend(results: int = 10) -> tuple[YtmusicBackend, ReplayAdapter]:
    adapter = ReplayAdapter(recorded())
    return YtmusicBackend(results, session=replay_session(adapter), pause=0), adapter


def test_songs_then_videos_with_their_structured_fields() -> None:
    b, adapter = backend(10)
    cands = b.search("Eartha Kitt Santa Baby")
    # one request per filter, the query as given: no network beyond the replay
    assert [q for q, _ in adapter.asked] == ["Eartha Kitt Santa Baby"] * 2
    songs = [c for c in cands if c.result_type == "song"]
    videos = [c for c in cands if c.result_type == "video"]
    assert len(songs) == 2 and len(videos) == 10 and cands[:2] == songs
    assert [c.rank for c in cands] == list(range(12))
    first = songs[0]
    assert first.video_id == "BX4q8Qyjfqg" and first.title == "Santa Baby"
    assert first.artists == ("Eartha Kitt", "Henri Rene and his Orchestra")
    assert first.album == "Happy Winter Holidays: Where Are You Christmas"
    assert first.duration == 205.0
    # a video's "artist" is its uploader, and it has no album
    assert videos[0].artists == ("Resurrected Tunes",) and videos[0].album is None
    assert len({c.video_id for c in cands}) == len(cands)
    # the fields survive candidates.jsonl
    assert Candidate.from_dict(json.loads(json.dumps(first.to_dict()))) == first


def test_results_limit_each_kind() -> None:
    b, _ = backend(3)
    cands = b.search("Eartha Kitt Santa Baby")
    assert [c.result_type for c in cands] == ["song", "song", "video", "video", "video"]


def test_the_chooser_takes_the_release_audio_and_says_why() -> None:
    b, _ = backend(10)
    cands = b.search("Eartha Kitt Santa Baby")
    d = choose("Eartha Kitt", "Santa Baby (with Henri René & His Orchestra)", 206.066,
               cands, MatchConfig())
    assert d.status == "matched" and d.best is not None
    assert d.best.candidate.video_id == "BX4q8Qyjfqg", d.reason
    assert "YouTube Music song" in d.reason and "artists field" in d.reason
    assert "(close: for)" in d.reason
    # the same title with its artists field taken away: the structured artist was the
    # evidence; without it the bare "Santa Baby" names no artist
    bare = [Candidate(c.video_id, c.title, "", c.duration, c.rank, c.url) for c in cands[:1]]
    assert choose("Eartha Kitt", "Santa Baby", 206.066, bare, MatchConfig()).status == \
        "no_match"


def test_a_server_error_is_one_failed_search() -> None:
    adapter = ReplayAdapter({})  # nothing recorded: every search answers 404
    b = YtmusicBackend(5, session=replay_session(adapter), pause=0,
                       backoff=Backoff(retries=0, sleep=lambda s: None))
    with pytest.raises(SearchError, match="ytmusic"):
        b.search("anything")


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_search_backend_ytmusic_records_structured_candidates_and_reranks(
        tmp_path: Path) -> None:
    wd = write_songs_csv(tmp_path, [SONG])
    adapter = ReplayAdapter(recorded())
    summary = run_search(wd, _http=replay_session(adapter), progress=False,
                         _backoff=Backoff(retries=0, sleep=lambda s: None),
                         config=SearchConfig(backend="ytmusic"))
    assert summary.searched == 1 and summary.matched == 1 and summary.quota_left is None
    rec = json.loads((wd.root / "search" / "candidates.jsonl").read_text().splitlines()[0])
    assert rec["backend"] == "ytmusic"
    top = rec["candidates"][0]
    assert top["artists"] == ["Eartha Kitt", "Henri Rene and his Orchestra"]
    assert top["album"] and top["result_type"] == "song" and top["duration"] == 205.0
    m = _rows(wd.root / "search" / "matches.csv")[0]
    assert m["video_id"] == "BX4q8Qyjfqg" and "YouTube Music song" in m["reason"]
    # --rerank reads the stored fields: no network (the adapter is not consulted)
    asked = len(adapter.asked)
    summary = run_search(wd, rerank=True, progress=False, config=SearchConfig(backend="ytmusic"))
    assert summary.matched == 1 and len(adapter.asked) == asked
    assert _rows(wd.root / "search" / "matches.csv")[0]["reason"] == m["reason"]


def test_a_toy_backend_is_one_registry_line(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    monkeypatch.setitem(registry.BACKENDS, "toy", registry.BackendInfo(
        "toy", "toy_backend:make", "", "", False, "a toy"))
    write_songs_csv(tmp_path, [(T1, "Portishead", "Roads", "305.0")])
    res = CliRunner().invoke(cli, ["--workdir", str(tmp_path), "search", "--backend", "toy"])
    assert res.exit_code == 0, res.output
    assert "1 searched now (toy)" in res.output
    rec = json.loads((tmp_path / "search" / "candidates.jsonl").read_text().splitlines()[0])
    assert rec["backend"] == "toy" and rec["candidates"][0]["video_id"] == "toyvideo001"


def test_an_unknown_backend_is_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    write_songs_csv(tmp_path, [(T1, "Portishead", "Roads", "305.0")])
    res = CliRunner().invoke(cli, ["--workdir", str(tmp_path), "search", "--backend", "nope"])
    assert res.exit_code != 0 and "Traceback" not in res.output
    assert "'nope'" in res.output and "ytmusic" in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_status_and_doctor_name_the_backend(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    monkeypatch.setitem(registry.BACKENDS, "toy", registry.BackendInfo(
        "toy", "toy_backend:make", "", "", False, "a toy"))
    write_songs_csv(tmp_path, [(T1, "Portishead", "Roads", "305.0"),
                               ("TRAAAAA128F0000002", "Adele", "Hello", "295.0")])
    run = CliRunner().invoke
    res = run(cli, ["--workdir", str(tmp_path), "search", "--backend", "toy", "--limit", "1"])
    assert res.exit_code == 0, res.output
    res = run(cli, ["--workdir", str(tmp_path), "status"])
    assert res.exit_code == 0, res.output
    search_line = next(x for x in res.output.splitlines() if x.strip().startswith("search"))
    assert "backend toy" in search_line, res.output
    assert "search: 1 songs left to search (toy backend: no quota)" in res.output
    res = run(cli, ["--workdir", str(tmp_path), "doctor", "--for", "search"])
    line = next(x for x in res.output.splitlines() if " backends " in f" {x} ")
    assert "search runs with the toy backend" in line and "ytmusic (ytmusicapi" in line

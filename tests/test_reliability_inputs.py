"""Bad input corpus through every stage: each bad item gets a clear one-line error or a
recorded status (never a traceback or a hang), and the good items around it are processed."""

from __future__ import annotations

import csv
import json
import unicodedata
from pathlib import Path

import pytest
from badinputs import ODD_STRINGS, deadline, make_audio, make_images, one_clean_line
from loopback import Route

from imac_builder.cli import cli
from imac_builder.config import SearchConfig

TRIED: dict[str, int] = {}


def tried(stage: str, n: int) -> None:
    TRIED[stage] = TRIED.get(stage, 0) + n
    print(f"\n[reliability] bad inputs tried through {stage}: {n} "
          f"(all stages so far: {sum(TRIED.values())})")


def tid(i: int) -> str:
    return f"TRBAD{i:013d}"


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="session")
def bad_audio(tmp_path_factory):
    pytest.importorskip("soundfile")
    return make_audio(tmp_path_factory.mktemp("bad_audio"))


def test_bad_audio_through_download_then_features(tmp_path, loopback, bad_audio, runner):
    pytest.importorskip("yt_dlp")
    pytest.importorskip("librosa")
    import numpy as np
    import soundfile as sf
    from download_media import write_inputs

    from imac_builder.download import SEGMENT_COLUMNS
    from imac_builder.features import FeatureStore

    rows = []
    for i, a in enumerate(bad_audio):
        route = "/a/" + a.name.replace(".", "_")
        loopback.routes[route] = Route.file(a.path, a.content_type)
        rows.append((tid(i), f"vid{i:08d}", loopback.url(route)))
    write_inputs(tmp_path, rows)
    with deadline(240):
        res = runner.invoke(cli, ["--workdir", str(tmp_path), "-q", "download", "--jobs", "2",
                                  "--socket-timeout", "5", "--retries", "0", "--rate", "0"])
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    ledger = {r["track_id"]: r for r in read_csv(tmp_path / "download/ledger.csv")}
    segs = read_csv(tmp_path / "download/segments.csv")
    for i, a in enumerate(bad_audio):
        row = ledger[tid(i)]
        if a.expect == "*":
            assert row["status"] != "ok" and row["reason"], (a.name, row)
        else:
            assert row["status"] == a.expect, (a.name, row)
        assert sum(s["track_id"] == tid(i) for s in segs) == a.segments, a.name
        assert "\n" not in row["reason"] and "Traceback" not in row["reason"]
        assert not row["reason"].startswith("unexpected failure"), (a.name, row)
    tried("download", len(bad_audio))

    # features: the downloaded segments plus bad segment files written by hand
    good = [s["segment_id"] for s in segs]
    real = sf.read(tmp_path / segs[0]["path"], dtype="float32")[0]
    bad: dict[str, tuple[str, object]] = {}  # segment id -> (file name, writer)
    folder = tmp_path / "audio" / "TRHANDMADE00000000"
    folder.mkdir(parents=True)
    flac = (tmp_path / segs[0]["path"]).read_bytes()
    nan = real.copy()
    nan[1000:1010] = np.nan
    cases = {
        "corrupt.flac": b"fLaC" + bytes(range(256)) * 50,
        "empty.flac": b"",
        "truncated.flac": flac[: len(flac) // 2],
        "rate44k.flac": (real, 44100, "PCM_16", "FLAC"),
        "nan.wav": (nan, 22050, "FLOAT", "WAV"),
        "short.flac": (real[:22050 * 30], 22050, "PCM_16", "FLAC"),
        "missing.flac": None,
    }
    ok_extra = {"six_channels.wav": (np.repeat(real[:, None], 6, 1), 22050, "PCM_24", "WAV"),
                "silence.flac": (np.zeros_like(real), 22050, "PCM_16", "FLAC"),
                "eight_bit.wav": (real, 22050, "PCM_U8", "WAV")}
    extra_rows = []
    for k, (name, data) in enumerate({**cases, **ok_extra}.items()):
        sid = f"TRHANDMADE00000000_{k:03d}"
        p = folder / name
        if isinstance(data, bytes):
            p.write_bytes(data)
        elif data is not None:
            y, rate, subtype, fmt = data
            sf.write(p, y, rate, subtype=subtype, format=fmt)
        bad[sid] = name
        extra_rows.append([sid, "TRHANDMADE00000000", "vid00000000", k, 60 * k, 60,
                           f"audio/TRHANDMADE00000000/{name}", "", "neutral"])
    with open(tmp_path / "download/segments.csv", "a", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(extra_rows)
    assert tuple(read_csv(tmp_path / "download/segments.csv")[0]) == SEGMENT_COLUMNS
    with deadline(240):
        res = runner.invoke(cli, ["--workdir", str(tmp_path), "-q", "features", "--modality",
                                  "music", "--engine", "fast", "--shard-size", "4"])
    assert res.exit_code == 0, res.output
    store = FeatureStore.open(tmp_path / "features/music.h5")
    made_ok = [sid for sid, name in bad.items() if name in ok_extra]
    assert sorted(store.ids) == sorted(good + made_ok)
    assert np.isfinite(store.features).all()
    assert store.attrs["n_failed"] == len(cases)
    tried("features (music)", len(bad) + len(good))


def test_bad_images_through_the_images_stage(tmp_path, runner):
    pytest.importorskip("PIL")
    corpus = make_images()
    root = tmp_path / "files"
    for k, im in enumerate(corpus):
        emotion = ("awe", "fear", "anger", "contentment")[k % 4]
        p = root / emotion / f"{emotion}_{k:04d}.{im.ext}"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(im.data)
    with deadline(120):
        res = runner.invoke(cli, ["--workdir", str(tmp_path / "w"), "-q", "images", "--root",
                                  str(root), "--offline", "--jobs", "1",
                                  "--allow-missing-classes"])
    assert res.exit_code == 0, res.output
    rows = {r["image_id"]: r for r in read_csv(tmp_path / "w/images/images.csv")}
    for k, im in enumerate(corpus):
        emotion = ("awe", "fear", "anger", "contentment")[k % 4]
        r = rows[f"{emotion}_{k:04d}"]
        if im.expect == "ok":
            assert r["status"] == "ok", (im.name, r)
        else:
            assert r["status"] != "ok" and r["reason"] and "\n" not in r["reason"], (im.name, r)
    tried("images", len(corpus))


def test_unicode_oddities_and_duplicates_through_tags_and_search(tmp_path, runner,
                                                                 monkeypatch):
    pytest.importorskip("googleapiclient")
    pytest.importorskip("rapidfuzz")
    from search_driver import DAY, QueryMock
    from tagdata import write_json_folder, write_json_zip

    from imac_builder.search.query import MAX_QUERY
    from imac_builder.search.stage import run_search

    monkeypatch.setenv("YOUTUBE_API_KEY", "AIzaSyODD-test-key-00000000000000000")
    tracks = [(tid(i), f"Artist {kind} {odd}", f"{odd} title", [("happy", 100.0), (odd, 90.0)])
              for i, (kind, odd) in enumerate(ODD_STRINGS.items())]
    tracks.append((tid(99), "Plain Artist", "Plain Song", [("sad", 100.0)]))
    write_json_folder(tmp_path / "lastfm", tracks)
    # the same track ids again in a second source, with other tags: duplicates
    write_json_zip(tmp_path / "lastfm_dup.zip", [(t, a, s, [("angry", 100.0)])
                                                  for t, a, s, _ in tracks[:3]])
    with deadline(120):
        res = runner.invoke(cli, ["--workdir", str(tmp_path / "w"), "-q", "tags", "--lastfm",
                                  str(tmp_path / "lastfm"), "--lastfm",
                                  str(tmp_path / "lastfm_dup.zip")])
    assert res.exit_code == 0, res.output  # duplicate track ids are merged, not refused
    songs = read_csv(tmp_path / "w/tags/songs.csv")
    ids = [s["track_id"] for s in songs]
    assert len(ids) == len(set(ids)) == len(tracks)
    by_id = {s["track_id"]: s for s in songs}
    assert by_id[tid(1)]["artist_name"] == f"Artist emoji {ODD_STRINGS['emoji']}"
    assert len(by_id[tid(3)]["title"]) >= 10_000
    tried("tags", len(tracks) + 3)

    with deadline(120):
        s = run_search(tmp_path / "w", _http=QueryMock(tmp_path / "q.log", 0), _clock=lambda: DAY,
                       progress=False,
                       config=SearchConfig(results=3))
    assert s.searched == len(tracks)
    matches = read_csv(tmp_path / "w/search/matches.csv")
    assert sorted(m["track_id"] for m in matches) == sorted(ids)
    for line in (tmp_path / "w/search/candidates.jsonl").read_text().splitlines():
        json.loads(line)  # every line whole
    sent = [json.loads(q) for q in (tmp_path / "q.log").read_text().splitlines()]
    assert len(sent) == len(tracks)
    assert all(len(q) <= MAX_QUERY and not any(unicodedata.category(c) == "Cc" for c in q)
               for q in sent), sent
    tried("search", len(tracks))


SONGS_HEAD = "track_id,song_id,artist_name,title,release,duration,year,label,tags\n"
MATCHES_HEAD = ("track_id,video_id,url,video_title,channel_title,video_duration,score,status,"
                "reason\n")


@pytest.mark.parametrize("stage,table,content,needle", [
    (["search", "--rerank"], "tags/songs.csv", "track_id,artist_name\nTRA,x\n", "songs.csv"),
    (["search", "--rerank"], "tags/songs.csv", "", "songs.csv"),
    (["download"], "search/matches.csv", "track_id,video_id\nTRAAAAAAAAAAAAAAAA,v\n",
     "matches.csv"),
    (["download"], "search/matches.csv", "", "matches.csv"),
    (["features", "--modality", "music"], "download/segments.csv",
     "segment_id,track_id,label\nTRAAAAAAAAAAAAAAAA_000,TRAAAAAAAAAAAAAAAA,positive\n",
     "segments.csv"),
    (["features", "--modality", "music"], "download/segments.csv",
     "segment_id,track_id,video_id,index,start,duration,path,sha256,label\n"
     "TRAAAAAAAAAAAAAAAA_000,TRAAAAAAAAAAAAAAAA,v,0,0,60,audio/a.flac,,positive\n"
     "TRAAAAAAAAAAAAAAAA_000,TRAAAAAAAAAAAAAAAA,v,0,0,60,audio/a.flac,,positive\n",
     "twice"),
    (["features", "--modality", "images"], "images/images.csv", "image_id,path\na,b.jpg\n",
     "images.csv"),
])
def test_hand_edited_tables_get_one_clear_line(tmp_path, runner, stage, table, content,
                                               needle):
    """Missing columns, empty files, duplicate ids: exit 1 and one line naming the file."""
    target = tmp_path / table
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content, encoding="utf-8")
    (tmp_path / "tags").mkdir(exist_ok=True)
    if not (tmp_path / "tags/songs.csv").exists():
        (tmp_path / "tags/songs.csv").write_text(SONGS_HEAD)
    with deadline(60):
        res = runner.invoke(cli, ["--workdir", str(tmp_path), *stage])
    assert res.exit_code == 1, res.output
    line = one_clean_line(res)
    assert needle in line, line
    tried("hand-edited tables", 1)


def test_excel_saved_matches_csv_with_bom_and_crlf_is_read(tmp_path, runner):
    """A matches.csv saved by a spreadsheet (UTF-8 BOM, CRLF) is read as the table it is."""
    from imac_builder.download.inputs import read_matches

    (tmp_path / "search").mkdir()
    (tmp_path / "tags").mkdir()
    (tmp_path / "tags/songs.csv").write_text(SONGS_HEAD)
    body = MATCHES_HEAD + ("TRAAAAAAAAAAAAAAAA,,,,,,,no_match,none\n"
                           "TRBBBBBBBBBBBBBBBB,vid00000000,http://127.0.0.1:9/x.ogg,t,c,61,90,matched,ok\n")
    (tmp_path / "search/matches.csv").write_bytes(
        b"\xef\xbb\xbf" + body.replace("\n", "\r\n").encode())
    jobs, invalid = read_matches(tmp_path, {})
    assert [(j.track_id, j.video_id, j.url) for j in jobs] == [
        ("TRBBBBBBBBBBBBBBBB", "vid00000000", "http://127.0.0.1:9/x.ogg")] and invalid == 0
    tried("hand-edited tables", 1)


@pytest.mark.parametrize("command", ["verify", "rebuild", "diff"])
def test_manifest_from_a_newer_format_is_refused_in_one_line(tmp_path, runner, command):
    rel = tmp_path / "rel"
    rel.mkdir()
    (rel / "manifest.json").write_text(json.dumps({
        "format": "imac-manifest", "format_version": 7, "name": "imac", "version": "9.0.0",
        "tables": {}, "future_field": {"x": 1}}))
    args = [str(rel), str(rel)] if command == "diff" else [str(rel)]
    (tmp_path / "w").mkdir()  # verify compares an existing work directory
    res = runner.invoke(cli, ["--workdir", str(tmp_path / "w"), command, *args])
    assert res.exit_code == 1, res.output
    assert "newer than this imac-build supports" in one_clean_line(res)
    tried("release (manifest)", 1)


def test_report_bad_inputs_total():
    print(f"\n[reliability] bad inputs tried in all: {sum(TRIED.values())} "
          f"by stage {dict(sorted(TRIED.items()))}")


def test_a_lone_carriage_return_in_a_value_keeps_the_table_whole(tmp_path):
    """csv.writer quotes only its own line terminator; a bare CR must not split a row."""
    from imac_builder.atomic import csv_text, write_csv

    rows = [["a\rb", "x"], ["c\r\nd", 'q"\n'], ["plain", ""]]
    write_csv(tmp_path / "t.csv", ["k", "v"], rows)
    with open(tmp_path / "t.csv", encoding="utf-8", newline="") as fh:
        assert list(csv.reader(fh)) == [["k", "v"], *rows]
    assert csv_text(["k", "v"], rows[2:]) == "k,v\nplain,\n"  # plain rows unchanged

"""Extract real YouTube Music search lists from spotDL's recorded test responses.

Source: the public repository spotDL/spotify-downloader, its vcrpy cassettes
``tests/cassettes/test_matching/*.yaml`` (every stored version in its history): each holds
the Spotify API's answer for one real track and YouTube Music's real answers to spotDL's
searches for it. Each search is replayed through ytmusicapi's own parser
(``tests/ytm_replay.py``); the song (artists, title, album, duration) and the parsed
candidates are written out. Nothing about our chooser goes in.

    python tests/make_real_lists.py MIRROR_GIT_DIR OUT.json
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ytm_replay import ReplayAdapter, replay_session  # noqa: E402

ISRC = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}\d{7}$", re.IGNORECASE)


def _git(repo: str, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", repo, *args], check=True,
                          capture_output=True, text=True).stdout


def cassettes(repo: str) -> list[tuple[int, str, str]]:
    """(commit time, path, text) of every stored version of every cassette under tests/
    that holds a YouTube Music search, newest first."""
    seen: dict[str, tuple[int, str]] = {}
    for line in _git(repo, "log", "--all", "--format=%H %ct", "--", "tests").splitlines():
        sha, ts = line.split()
        tree = subprocess.run(["git", "--git-dir", repo, "ls-tree", "-r", sha, "tests"],
                              capture_output=True, text=True).stdout
        for row in tree.splitlines():
            meta, path = row.split("\t", 1)
            blob = meta.split()[2]
            if path.endswith(".yaml") and (blob not in seen or seen[blob][0] < int(ts)):
                seen[blob] = (int(ts), path)
    out = []
    for blob, (ts, path) in seen.items():
        r = subprocess.run(["git", "--git-dir", repo, "cat-file", "blob", blob],
                           capture_output=True)
        if r.returncode == 0 and b"youtubei/v1/search" in r.stdout:
            out.append((ts, path, r.stdout.decode("utf-8", "replace")))
    return sorted(out, reverse=True)


def _tracks(obj: object, found: list[dict]) -> None:
    """Every Spotify track object inside a Spotify API answer."""
    if isinstance(obj, dict):
        if obj.get("type") == "track" and "duration_ms" in obj and obj.get("artists"):
            found.append(obj)
        for v in obj.values():
            _tracks(v, found)
    elif isinstance(obj, list):
        for v in obj:
            _tracks(v, found)


def _params_to_filter() -> dict[str, str | None]:
    from ytmusicapi.parsers.search import get_search_params

    out: dict[str, str | None] = {}
    for f in (None, "songs", "videos", "albums", "artists", "playlists"):
        for ign in (False, True):
            out[get_search_params(f, None, ign) or ""] = f
    return out


def _decode(raw: bytes) -> str:
    """A recorded body: gzip or brotli compressed, or plain."""
    import gzip
    import zlib

    for unpack in (gzip.decompress, zlib.decompress, _brotli):
        try:
            return unpack(raw).decode("utf-8")
        except Exception:  # noqa: BLE001 - not that encoding
            continue
    return raw.decode("utf-8", "replace")


def _brotli(raw: bytes) -> bytes:
    import brotli  # type: ignore[import-not-found]

    return brotli.decompress(raw)


def _english_shelf(resp: dict, filt: str) -> None:
    """Name the filtered shelf in English ("Titel" -> "Songs"): the recordings were made
    with hl=de and ytmusicapi 1.12 skips a shelf whose title lacks the English word."""
    for tab in resp.get("contents", {}).get("tabbedSearchResultsRenderer", {}).get("tabs", []):
        for sec in (tab.get("tabRenderer", {}).get("content", {})
                    .get("sectionListRenderer", {}).get("contents", [])):
            shelf = sec.get("musicShelfRenderer")
            if shelf and shelf.get("title", {}).get("runs"):
                shelf["title"]["runs"][0]["text"] = filt.capitalize()


def _song_of(query: str, songs: list[dict]) -> dict | None:
    """The Spotify track a spotDL query ("artists - title") was made from."""
    from rapidfuzz import fuzz

    best, score = None, 0.0
    for sg in songs:
        for form in (f"{', '.join(sg['artists'])} - {sg['title']}",
                     f"{sg['artists'][0]} - {sg['title']}",
                     f"{sg['title']} - {', '.join(sg['artists'])}"):
            sc = fuzz.ratio(query.lower(), form.lower())
            if sc > score:
                best, score = sg, sc
    return best if score >= 90 else None


def lists_of(text: str) -> list[dict]:
    from ytmusicapi import YTMusic

    data = yaml.load(text, Loader=yaml.CSafeLoader)
    songs: list[dict] = []
    searches: list[tuple[str, str, str]] = []
    responses, conts = {}, {}
    for it in data["interactions"]:
        req, body = it["request"], it["response"]["body"].get("string")
        uri = req["uri"]
        if isinstance(body, bytes):
            body = _decode(body)
        if uri.startswith("https://api.spotify.com/"):
            try:
                found: list[dict] = []
                _tracks(json.loads(body), found)
            except (ValueError, TypeError):
                continue
            for t in found:
                songs.append({"artists": [a["name"] for a in t["artists"]],
                              "title": t["name"],
                              "album": (t.get("album") or {}).get("name"),
                              "duration": round(t["duration_ms"] / 1000, 3),
                              "source_id": f"spotify:track:{t['id']}"})
        elif "/youtubei/v1/search" in uri:
            m = re.search(r"[?&](?:ctoken|continuation)=([^&]+)", uri)
            if m:
                from urllib.parse import unquote
                conts[unquote(m.group(1))] = json.loads(body)
                continue
            rb = json.loads(req["body"])
            key = (rb["query"], rb.get("params", ""))
            responses[key] = json.loads(body)
            searches.append((*key, rb["context"]["client"].get("hl", "en")))
    if not songs:
        return []
    p2f = _params_to_filter()
    out = []
    for query, params, hl in searches:
        if ISRC.match(query) or params not in p2f or p2f[params] not in ("songs", "videos"):
            continue
        song = _song_of(query, songs)
        if song is None:
            continue
        _english_shelf(responses[(query, params)], p2f[params])
        adapter = ReplayAdapter(responses, conts)
        yt = YTMusic(requests_session=replay_session(adapter), language=hl)
        ign = params != (p2f and __import__("ytmusicapi.parsers.search", fromlist=["x"])
                         .get_search_params(p2f[params], None, False) or "")
        try:
            res = yt.search(query, filter=p2f[params], ignore_spelling=ign)
        except Exception as e:  # a continuation not recorded: take the first page
            print(f"{song['title']}: {e}", file=sys.stderr)
            continue
        cands = []
        for r in res:
            if not r.get("videoId"):
                continue
            cands.append({
                "video_id": r["videoId"], "title": r.get("title") or "",
                "channel": ", ".join(a["name"] for a in r.get("artists") or []),
                "artists": [a["name"] for a in r.get("artists") or []],
                "album": (r.get("album") or {}).get("name"),
                "duration": r.get("duration_seconds"),
                "result_type": r.get("resultType"), "views": r.get("views")})
        if cands:
            out.append({"song": dict(song, query=query, search=p2f[params]),
                        "candidates": cands})
    return out


def main(repo: str, dest: str) -> None:
    lists, seen = [], set()
    for _ts, path, text in cassettes(repo):  # newest first: one list per song and filter
        try:
            got = lists_of(text)
        except Exception as e:  # an old cassette ytmusicapi's parser no longer reads
            print(f"{path}: {type(e).__name__}: {e}", file=sys.stderr)
            continue
        for lst in got:
            key = (lst["song"]["source_id"], lst["song"]["search"])
            if key not in seen:
                seen.add(key)
                lists.append(lst)
        print(path, len(got), file=sys.stderr)
    Path(dest).write_text(json.dumps(lists, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"{len(lists)} lists, {sum(len(x['candidates']) for x in lists)} candidates")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

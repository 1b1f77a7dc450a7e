"""``imac-build review`` in a real headless browser (Debian's chromium through Selenium):
the demo's page, filtering, deciding with the keyboard, saving with ``--serve`` and
exporting, ``search --rerank`` applying both decisions, hostile titles inert, the
screenshot in docs/, and the load and filter times of a large synthetic work directory.

Skipped with the reason when chromium, chromedriver or selenium is absent
(``scripts/setup.sh --dev`` installs them). ``IMAC_REVIEW_SCREENSHOT=1`` rewrites
``docs/review.png``; ``IMAC_REVIEW_SONGS=10000`` sizes the synthetic work directory
(default 500 songs x 20 candidates, to keep the suite quick).
"""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("rapidfuzz")

from imac_builder import tables as T  # noqa: E402
from imac_builder.cli import cli  # noqa: E402
from imac_builder.search.stage import run_search  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
HOSTILE_IMG = "<img src=x onerror=alert(1)>"
HOSTILE_FLAG = "<img src=x onerror=\"window.__pwned=1\"><script>window.__pwned=2</script>"
JS_TITLE = "javascript:alert(document.domain)"
RTL_TITLE = "Good Song \u202eevil\u202c (Official)"
CHROME_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--window-size=1280,900")


def _browser_paths() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.skip("needs Debian's chromium and chromium-driver (scripts/setup.sh --dev "
                    "installs them: apt-get install chromium chromium-driver); not installed")
    pytest.importorskip("selenium", reason="needs selenium (pip install 'imac_builder[dev]')")
    return chromium, driver


@pytest.fixture
def browser(tmp_path: Path):
    chromium, driver_path = _browser_paths()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in (*CHROME_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        opts.add_argument(flag)
    d = webdriver.Chrome(service=Service(driver_path), options=opts)
    d.downloads = tmp_path / "downloads"  # type: ignore[attr-defined]
    d.downloads.mkdir()  # type: ignore[attr-defined]
    d.execute_cdp_cmd("Browser.setDownloadBehavior",
                      {"behavior": "allow", "downloadPath": str(d.downloads)})  # type: ignore[attr-defined]
    # an alert() anywhere would set this flag (CDP-injected: no page policy can stop it)
    d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source":
                      "window.alert = function () { window.__alerted = 1; };"})
    yield d
    d.quit()


def _wait(d, script: str, timeout: float = 20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = d.execute_script(script)
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for: {script}")


def _cand(vid: str, title: str, channel: str, duration: float, rank: int, url: str = "") -> dict:
    return {"video_id": vid, "title": title, "channel_title": channel, "duration": duration,
            "rank": rank, "url": url or f"https://www.youtube.com/watch?v={vid}"}


def _matches(root: Path) -> dict[str, dict]:
    with T.MATCHES.at(root).open(encoding="utf-8", newline="") as fh:
        return {r["track_id"]: r for r in csv.DictReader(fh)}


def _demo_with_searched_misses(demo_small: Path, tmp: Path, runner) -> tuple[Path, str, str]:
    """The demo work directory, with two of its unsearched songs given candidates that the
    chooser refuses (hostile titles among them), reranked by the real search stage."""
    w = tmp / "demo"
    shutil.copytree(demo_small, w, symlinks=True)
    m = _matches(w)
    misses = sorted(t for t, r in m.items() if r["reason"].startswith("not_searched"))
    a, b = misses[:2]
    with T.SONGS.at(w).open(encoding="utf-8", newline="") as fh:
        songs = {r["track_id"]: r for r in csv.DictReader(fh)}
    sa, sb = songs[a], songs[b]
    lines = [
        {"track_id": a, "query": "q", "backend": "api", "searched_at": "2026-01-02T00:00:00Z",
         "candidates": [
             _cand("hostileImg1", HOSTILE_IMG, "Evil Uploads", 200, 1),
             _cand("liveTake001", f"{sa['artist_name']} - {sa['title']} (Live at the Hall)",
                   "Fan Uploads", 200, 2),
             _cand("jsLinkVid01", JS_TITLE, "javascript:void(0)", 200, 3,
                   url="javascript:window.__pwned=3"),
             _cand("rtlTitle001", RTL_TITLE, "Evil Uploads", 200, 4),
             _cand("flagTitle01", HOSTILE_FLAG, "Evil Uploads", 200, 5)]},
        {"track_id": b, "query": "q", "backend": "api", "searched_at": "2026-01-02T00:00:00Z",
         "candidates": [_cand("karaoke0001", f"{sb['title']} (Karaoke Version)",
                              "Karaoke Hits", 200, 1)]},
    ]
    with T.CANDIDATES.at(w).open("a", encoding="utf-8") as fh:
        for line in lines:
            fh.write(json.dumps(line) + "\n")
    r = runner.invoke(cli, ["--workdir", str(w), "search", "--rerank"])
    assert r.exit_code == 0, r.output
    m = _matches(w)
    assert m[a]["reason"].startswith("below_threshold") and m[b]["status"] == "no_match"
    return w, a, b


def _serve(w: Path) -> tuple[subprocess.Popen, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "imac_builder", "--workdir", str(w),
                             "review", "--serve"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    url = ""
    for line in proc.stdout:  # type: ignore[union-attr]
        if line.startswith("serving "):
            url = line.split()[1]
            break
    assert url.startswith("http://127.0.0.1:"), url
    return proc, url


def test_review_the_demo_decide_save_export_and_rerank(demo_small: Path, tmp_path: Path,
                                                       runner, browser) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    d = browser
    w, a, b = _demo_with_searched_misses(demo_small, tmp_path, runner)
    proc, url = _serve(w)
    try:
        d.get(url)
        _wait(d, "return document.body.dataset.ready === '1'")
        Select(d.find_element(By.ID, "f-status")).select_by_value("no_match")
        cards = d.find_elements(By.CSS_SELECTOR, "article.song")
        assert cards and all("no match" in c.find_element(By.TAG_NAME, "h2").text
                             for c in cards)
        shown = d.find_element(By.ID, "shown").text
        n_no_match = sum(r["status"] == "no_match" for r in _matches(w).values())
        assert shown.startswith(f"{n_no_match} of ")
        # the count beside each filter value is the number of songs it shows
        opt = d.find_element(By.CSS_SELECTOR, "#f-status option[value='no_match']").text
        assert opt == f"no match ({n_no_match})"
        # j / k move the cursor from song to song
        cursor = "return [...document.querySelectorAll('article.song')].findIndex(" \
                 "x => x.classList.contains('cursor'))"
        assert d.execute_script(cursor) == 0
        ActionChains(d).send_keys("jj").perform()
        assert d.execute_script(cursor) == 2
        ActionChains(d).send_keys("k").perform()
        assert d.execute_script(cursor) == 1
        # narrow to the two songs: the search box
        d.find_element(By.ID, "q").send_keys(a)
        _wait(d, f"return document.querySelectorAll('article.song').length === 1 && "
                 f"document.querySelector('article.song').dataset.track === '{a}'")
        card = d.find_element(By.CSS_SELECTOR, f"article[data-track='{a}']")
        card.find_element(By.TAG_NAME, "h2").click()
        keys = ActionChains(d)
        keys.send_keys("2").perform()  # choose candidate 2
        _wait(d, "return document.querySelector('.decision') !== null")
        assert "liveTake001" in d.find_element(By.CSS_SELECTOR, ".decision").text
        # hostile titles: text, not markup; nothing ran
        text = d.find_element(By.CSS_SELECTOR, f"article[data-track='{a}']").text
        assert HOSTILE_IMG in text and JS_TITLE in text
        assert "Good Song [U+202E]evil[U+202C] (Official)" in text and "\u202e" not in text
        assert d.execute_script("return document.querySelectorAll('img').length") == 0
        assert d.execute_script("return window.__pwned === undefined && "
                                "window.__alerted === undefined")
        hrefs = d.execute_script("return [...document.querySelectorAll('a')].map(x => x.href)")
        assert hrefs and all(h.startswith("https://www.youtube.com/watch?v=") for h in hrefs)
        rels = d.execute_script("return [...document.querySelectorAll('a')].map(x => x.rel)")
        assert set(rels) == {"noopener noreferrer"}
        assert d.execute_script("return document.querySelectorAll('iframe, embed, object')"
                                ".length") == 0
        # song b: choose 1, undo, skip
        q = d.find_element(By.ID, "q")
        q.clear()
        q.send_keys(b)
        _wait(d, f"return document.querySelector('article.song') && "
                 f"document.querySelector('article.song').dataset.track === '{b}'")
        d.find_element(By.CSS_SELECTOR, f"article[data-track='{b}'] h2").click()
        ActionChains(d).send_keys("1").perform()
        _wait(d, "return /karaoke0001/.test(document.querySelector('.decision')?.textContent)")
        ActionChains(d).send_keys("u").perform()
        _wait(d, "return document.querySelector('.decision') === null")
        ActionChains(d).send_keys("s").perform()
        _wait(d, "return /skip this song/.test(document.querySelector('.decision')?.textContent)")
        # the static export: the file a person would put at search/overrides.csv
        d.find_element(By.ID, "export").click()
        exported = _wait_file(d.downloads / "overrides.csv")
        assert exported.splitlines() == ["track_id,video_id,note",
                                         f"{a},liveTake001,chosen in review",
                                         f"{b},skip,skipped in review"]
        # the server: saved under the lock into search/overrides.csv
        d.find_element(By.ID, "save").click()
        _wait(d, "return /saved 2 decision/.test(document.getElementById('msg').textContent)")
        assert T.OVERRIDES.at(w).read_text(encoding="utf-8") == exported
        if os.environ.get("IMAC_REVIEW_SCREENSHOT"):
            _screenshot(d, url)
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0 and "stopped serving" in out, out
    assert d.execute_script("return window.__pwned === undefined && "
                            "window.__alerted === undefined")
    r = runner.invoke(cli, ["--workdir", str(w), "search", "--rerank"])
    assert r.exit_code == 0, r.output
    m = _matches(w)
    assert m[a]["status"] == "matched" and m[a]["video_id"] == "liveTake001"
    assert m[a]["reason"] == "override: search/overrides.csv (chosen in review)"
    assert m[b]["status"] == "no_match"
    assert m[b]["reason"] == "skipped: by search/overrides.csv (skipped in review)"


def _wait_file(path: Path, timeout: float = 20.0) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.is_file() and path.stat().st_size:
            return path.read_text(encoding="utf-8")
        time.sleep(0.05)
    raise AssertionError(f"{path} was not downloaded")


def _screenshot(d, url: str) -> None:
    """docs/review.png: the demo's page with a decision shown."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    d.get(url)
    _wait(d, "return document.body.dataset.ready === '1'")
    Select(d.find_element(By.ID, "f-reason")).select_by_value("below_threshold")
    d.execute_script("window.scrollTo(0, 0)")
    d.set_window_size(1280, 1000)
    d.save_screenshot(str(REPO / "docs" / "review.png"))


def _synthetic(root: Path, n: int, per: int) -> None:
    """``n`` songs with ``per`` candidates each in candidates.jsonl; ``search --rerank``
    then writes matches.csv and search/scores.json as it does after a search (about
    70 % of the songs have an acceptable candidate)."""
    from imac_builder.tags.stage import SONGS_COLUMNS

    rng = random.Random(26)
    words = ("love night heart fire rain blue gold dream road home light wild river moon "
             "sun stone city ghost summer winter").split()
    songs, cands = [], []
    for i in range(n):
        tid = f"TR{i:016d}"
        artist = " ".join(rng.sample(words, 2)).title()
        title = " ".join(rng.sample(words, 3)).title()
        dur = rng.randint(150, 400)
        label = ("positive", "neutral", "negative")[i % 3]
        songs.append([tid, "SO" + tid[2:], artist, title, "", dur, 2000, 1, 0, 0, label, "x"])
        cs = []
        # three songs in ten were searched under another title: nothing there is theirs
        shown = title if i % 10 < 7 else " ".join(rng.sample(words, 3)).title()
        for r in range(per):
            kind = ("", " (Official Video)", " (Live)", " (Karaoke Version)", " - Remix",
                    " (Cover)")[r % 6]
            cs.append(_cand(f"v{i:06d}{r:04d}", f"{artist} - {shown}{kind}",
                            f"{artist} - Topic" if r == 1 else f"Channel {r}",
                            dur + rng.randint(-20, 60), r + 1))
        cands.append({"track_id": tid, "query": f"{artist} {title}", "backend": "api",
                      "searched_at": "2026-01-01T00:00:00Z", "candidates": cs})
    T.write_table(root, T.SONGS, songs)
    assert list(T.SONGS.columns) == list(SONGS_COLUMNS)
    with T.CANDIDATES.at(root).open("w", encoding="utf-8") as fh:
        for c in cands:
            fh.write(json.dumps(c) + "\n")
    run_search(root, rerank=True, progress=False)


def test_large_work_directory_load_and_filter_times(tmp_path: Path, browser) -> None:
    """Measured and printed (not a timing gate): page write, first render, a filter."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from imac_builder.review import write_review

    n = int(os.environ.get("IMAC_REVIEW_SONGS", "500"))
    w = tmp_path / "big"
    (w / "tags").mkdir(parents=True)
    (w / "search").mkdir()
    _synthetic(w, n, 20)
    t = time.perf_counter()
    cold = write_review(w, jobs=0)
    cold_s = time.perf_counter() - t
    t = time.perf_counter()
    warm = write_review(w, jobs=0)
    warm_s = time.perf_counter() - t
    # the search's own scores (search/scores.json) serve the first write: nothing rescored
    assert cold.songs == n and cold.candidates == 20 * n
    assert cold.scored_now == 0 and warm.scored_now == 0
    no_match = sum(r["status"] == "no_match" for r in T.read_table(w, T.MATCHES))
    assert 0 < no_match < n
    d = browser
    t = time.perf_counter()
    d.get((w / "review" / "index.html").as_uri())
    _wait(d, "return document.body.dataset.ready === '1'", timeout=120)
    load_s = time.perf_counter() - t
    first = d.execute_script("return window.reviewTimings.firstRender")
    t = time.perf_counter()
    Select(d.find_element(By.ID, "f-status")).select_by_value("no_match")
    filt_s = time.perf_counter() - t
    filt_ms = d.execute_script("return window.reviewTimings.lastFilter")
    shown = d.find_element(By.ID, "shown").text
    assert shown == f"{no_match} of {n} songs"
    t = time.perf_counter()
    d.find_element(By.ID, "q").send_keys("v000007")
    _wait(d, "return document.getElementById('shown').textContent.startsWith('1 of')")
    search_s = time.perf_counter() - t
    print(f"\nreview, {n:,} songs x 20 candidates: page {cold.bytes / 1e6:.1f} MB; written "
          f"in {cold_s:.1f} s (the search's stored scores) and {warm_s:.1f} s again; "
          f"browser: first render {first / 1000:.2f} s after navigation "
          f"({load_s:.2f} s until ready as the driver saw it), a filter change "
          f"{filt_ms / 1000:.2f} s in the page ({filt_s:.2f} s round trip), a search "
          f"{search_s:.2f} s (0.12 s of it the typing pause)")

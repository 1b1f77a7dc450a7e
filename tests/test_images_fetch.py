"""``--urls`` and vote-CSV downloads from a loopback server: 404s, stalls, caps, resume."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from images_support import jpeg_bytes, photos
from loopback import Route

from imac_builder.config import ImagesConfig
from imac_builder.images.fetch import FetchJob, fetch_all, read_ledger
from imac_builder.images.stage import run_images

pytest.importorskip("PIL")
from PIL import Image  # noqa: E402


def _rows(workdir: Path) -> dict[str, dict[str, str]]:
    with (workdir / "images" / "images.csv").open(newline="", encoding="utf-8") as fh:
        return {r["image_id"]: r for r in csv.DictReader(fh)}


def fast(**settings: object) -> dict:
    """Quick settings for loopback fetches (short timeouts, no backoff)."""
    base = {"timeout": 0.4, "retries": 1, "fetch_jobs": 8, "jobs": 1}
    return {"config": ImagesConfig(**{**base, **settings}), "_backoff": 0.0,
            "progress": False}


def _serve(loopback) -> tuple[dict[str, bytes], str]:
    """Real photos, a dead-link placeholder, 404s, a stall, a cut-off body, a huge file."""
    ims = photos(6)
    good = {f"/photos/{i}.jpg": jpeg_bytes(im) for i, im in enumerate(ims)}
    for path, body in good.items():
        loopback.routes[path] = Route(body=body, content_type="image/jpeg")
    holder = jpeg_bytes(Image.new("RGB", (500, 374), (230, 230, 230)))
    for i in range(6):  # dead Flickr links all answering with the same picture
        loopback.routes[f"/dead/{i}.jpg"] = Route(body=holder, content_type="image/jpeg")
    loopback.routes["/stall.jpg"] = Route(body=good["/photos/0.jpg"], stall=1.5)
    loopback.routes["/cut.jpg"] = Route(body=good["/photos/1.jpg"], truncate_to=200)
    loopback.routes["/huge.jpg"] = Route(body=b"\xff\xd8\xff" + b"\0" * 300_000)
    loopback.routes["/html.jpg"] = Route(body=b"<html>blocked</html>", content_type="text/html")
    loopback.routes["/oops.jpg"] = Route(body=b"", status=503)
    lines = ["image_id,url,emotion"]
    emotions = ("amusement", "anger", "awe", "contentment", "fear", "sadness")
    for i, e in enumerate(emotions):
        lines.append(f"p{i},{loopback.url(f'/photos/{i}.jpg')},{e}")
    for i in range(6):
        lines.append(f"d{i},{loopback.url(f'/dead/{i}.jpg')},excitement")
    lines += [f"missing1,{loopback.url('/nothing/1.jpg')},disgust",
              f"missing2,{loopback.url('/nothing/2.jpg')},disgust",
              f"stall,{loopback.url('/stall.jpg')},fear",
              f"cut,{loopback.url('/cut.jpg')},fear",
              f"huge,{loopback.url('/huge.jpg')},awe",
              f"html,{loopback.url('/html.jpg')},awe",
              f"oops,{loopback.url('/oops.jpg')},awe"]
    return good, "\n".join(lines) + "\n"


def test_urls_are_fetched_checked_ledgered_and_resumed(tmp_path, loopback):
    good, listing = _serve(loopback)
    urls = tmp_path / "imac_urls.csv"
    urls.write_text(listing)
    wd = tmp_path / "W"
    s = run_images(wd, urls=[urls],
                   **fast(max_bytes=100_000))
    rows = _rows(wd)
    root = wd / "images" / "files"
    for i, e in enumerate(("amusement", "anger", "awe", "contentment", "fear", "sadness")):
        r = rows[f"{e}_p{i}"]
        assert r["status"] == "ok", r
        assert r["path"] == f"{e}/{e}_p{i}.jpg"
        assert (root / r["path"]).read_bytes() == good[f"/photos/{i}.jpg"]
    assert {rows[f"excitement_d{i}"]["status"] for i in range(6)} == {"placeholder"}
    fail = {i: rows[i]["reason"] for i in rows if rows[i]["status"] == "download_failed"}
    assert set(fail) == {"disgust_missing1", "disgust_missing2", "fear_stall", "fear_cut",
                         "awe_huge", "awe_oops"}
    assert fail["disgust_missing1"].startswith("not_found: HTTP 404")
    assert fail["fear_stall"].startswith("timeout")
    assert fail["fear_cut"].startswith("network")
    assert fail["awe_huge"].startswith("too_large")
    assert fail["awe_oops"].startswith("server_error: HTTP 503")
    assert rows["awe_html"]["status"] == "not_image"
    assert s.downloaded == 13 and s.fetch_failed == 6
    # retries: transient failures asked twice (retries=1), permanent ones once
    assert loopback.hits["/stall.jpg"] == 2 and loopback.hits["/oops.jpg"] == 2
    assert loopback.hits["/nothing/1.jpg"] == 1 and loopback.hits["/huge.jpg"] == 1
    ledger = read_ledger(wd / "images" / "ledger.csv")
    assert len(ledger) == 19
    assert ledger["fear_stall"].attempts == 2 and ledger["fear_stall"].status == "timeout"
    assert ledger["amusement_p0"].status == "ok"
    assert ledger["amusement_p0"].bytes == len(good["/photos/0.jpg"])
    assert not list(root.rglob(".*.part"))  # nothing half-written left behind

    # rerun: nothing on disk is fetched again, 404s are not asked again, transient are
    hits = dict(loopback.hits)
    loopback.routes["/oops.jpg"] = Route(body=good["/photos/2.jpg"], content_type="image/jpeg")
    s2 = run_images(wd, urls=[urls],
                   **fast(max_bytes=100_000))
    for path in good:
        assert loopback.hits[path] == hits[path]
    assert loopback.hits["/nothing/1.jpg"] == 1 and loopback.hits["/huge.jpg"] == 1
    assert loopback.hits["/stall.jpg"] == 4 and loopback.hits["/oops.jpg"] == 3
    assert s2.downloaded == 1 and s2.already_present == 13 and s2.not_retried == 3
    rows2 = _rows(wd)
    assert rows2["awe_oops"]["status"] == "ok"
    assert "--retry-failed" in rows2["disgust_missing1"]["reason"]
    assert read_ledger(wd / "images" / "ledger.csv")["fear_stall"].attempts == 4

    # --retry-failed asks the permanent failures again
    run_images(wd, urls=[urls], retry_failed=True,
                   **fast(max_bytes=100_000))
    assert loopback.hits["/nothing/1.jpg"] == 2 and loopback.hits["/huge.jpg"] == 2


def test_vote_csvs_download_what_is_missing_and_verified_only_filters(tmp_path, loopback):
    ims = photos(3)
    for i, im in enumerate(ims):
        loopback.routes[f"/f/{i}.jpg"] = Route(body=jpeg_bytes(im), content_type="image/jpeg")
    votes = tmp_path / "votes"
    votes.mkdir()
    (votes / "awe_flickr.csv").write_text(
        f"100,{loopback.url('/f/0.jpg')},1,4\n"
        f"101,{loopback.url('/f/1.jpg')},4,1\n"
        f"102,{loopback.url('/f/2.jpg')},2,3\n")
    root = tmp_path / "root"
    (root / "awe").mkdir(parents=True)
    (root / "awe" / "102.jpg").write_bytes(jpeg_bytes(ims[2]))  # already on disk
    wd = tmp_path / "W"
    s = run_images(wd, root=root, votes=votes,
                   **fast(verified_only=True, allow_missing_classes=True))
    rows = _rows(wd)
    assert set(rows) == {"awe_100", "awe_102"}  # 101 has 1 agreeing vote of 5
    assert s.dropped_unverified == 1
    assert rows["awe_100"]["path"] == "awe/awe_100.jpg" and rows["awe_100"]["status"] == "ok"
    assert (root / "awe" / "awe_100.jpg").is_file()
    assert rows["awe_102"]["path"] == "awe/102.jpg"
    assert loopback.hits.get("/f/1.jpg") is None and loopback.hits.get("/f/2.jpg") is None

    run_images(wd, root=root, votes=votes, offline=True,
                   **fast(allow_missing_classes=True))
    rows = _rows(wd)
    assert rows["awe_101"]["status"] == "missing" and "--offline" in rows["awe_101"]["reason"]
    assert rows["awe_100"]["status"] == "ok"  # found on disk by the layout scan
    assert loopback.hits["/f/0.jpg"] == 1


def test_hostile_redirect_and_paths_are_refused(tmp_path, loopback):
    loopback.routes["/r.jpg"] = Route(status=302, headers={"Location": "file:///etc/passwd"})
    entry_dir = tmp_path / "root"
    out = fetch_all([FetchJob("awe_r", loopback.url("/r.jpg"), "awe/awe_r.jpg")], entry_dir,
                    tmp_path / "ledger.csv", timeout=1, retries=0, backoff=0)
    assert out.entries["awe_r"].status == "http_error"
    assert "redirect refused" in out.entries["awe_r"].reason
    assert not (entry_dir / "awe" / "awe_r.jpg").exists()
    loopback.routes["/f.jpg"] = Route(status=301, headers={"Location": "ftp://127.0.0.1/x"})
    out = fetch_all([FetchJob("awe_f", loopback.url("/f.jpg"), "awe/awe_f.jpg")], entry_dir,
                    tmp_path / "ledger.csv", timeout=1, retries=0, backoff=0)
    assert out.entries["awe_f"].status == "http_error"
    assert "non-http" in out.entries["awe_f"].reason

    outside = tmp_path / "outside"
    outside.mkdir()
    (entry_dir / "fear").mkdir(parents=True)
    (entry_dir / "fear" / "link").symlink_to(outside)
    urls = tmp_path / "u.csv"
    urls.write_text(f"id,url,emotion,path\nx,{loopback.url('/r.jpg')},fear,fear/link/x.jpg\n"
                    f"y,{loopback.url('/r.jpg')},fear,../y.jpg\n")
    s = run_images(tmp_path / "W", root=entry_dir, urls=[urls],
                   **fast(allow_missing_classes=True))
    rows = _rows(tmp_path / "W")
    assert rows["fear_x"]["status"] == "missing" and "leaves the image root" in \
        rows["fear_x"]["reason"]
    assert "fear_y" not in rows and s.rejected_rows == 1
    assert not list(outside.iterdir())


def test_a_listed_path_is_one_image_on_rerun(tmp_path, loopback):
    loopback.routes["/x.jpg"] = Route(body=jpeg_bytes(photos(1)[0]), content_type="image/jpeg")
    urls = tmp_path / "u.csv"
    urls.write_text(f"image_id,url,emotion,path\nx,{loopback.url('/x.jpg')},awe,fear/odd.jpg\n")
    root = tmp_path / "root"
    root.mkdir()
    for _ in range(2):
        run_images(tmp_path / "W", root=root, urls=[urls],
                   **fast(allow_missing_classes=True))
        rows = _rows(tmp_path / "W")
        assert list(rows) == ["awe_x"]
        assert rows["awe_x"]["path"] == "fear/odd.jpg" and rows["awe_x"]["status"] == "ok"
        assert rows["awe_x"]["label"] == "positive"
    assert loopback.hits["/x.jpg"] == 1

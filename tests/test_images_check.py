"""Per-image checks and the statuses of images.csv, on real photographs made bad."""

from __future__ import annotations

import csv
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from images_support import bomb_png, folder_layout, jpeg_bytes, photos, rgb16_png, write_jpeg

from imac_builder.config import ImagesConfig
from imac_builder.images.check import CheckCache, check_file, check_many
from imac_builder.images.stage import IMAGES_COLUMNS, run_images

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402


def _check(path: Path, max_pixels: int = 89_478_485):
    return check_file((path.name, str(path), max_pixels))


def test_good_photo_is_read_fully(tmp_path):
    im = photos(1)[0]
    p = write_jpeg(tmp_path / "a.jpg", im)
    res = _check(p)
    assert res.problem == ""
    assert (res.width, res.height) == im.size
    assert res.format == "JPEG" and res.mode == "RGB" and res.notes == []
    import hashlib
    assert res.sha256 == hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, -2])
def test_truncated_jpeg_is_corrupt(tmp_path, keep):
    data = jpeg_bytes(photos(1)[0])
    n = len(data) + keep if keep < 0 else int(len(data) * keep)
    p = tmp_path / "t.jpg"
    p.write_bytes(data[:n])
    res = _check(p)
    assert res.problem == "corrupt", res
    assert res.detail


def test_truncated_png_is_corrupt(tmp_path):
    p = tmp_path / "a.png"
    photos(1)[0].save(p)
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    assert _check(p).problem == "corrupt"


def test_bomb_is_refused_from_its_header_without_decoding(tmp_path):
    p = tmp_path / "bomb.png"
    p.write_bytes(bomb_png(60000, 60000))
    t0 = time.perf_counter()
    res = _check(p)
    assert time.perf_counter() - t0 < 1.0  # decoding 3.6 Gpixel would take far longer
    assert res.problem == "bomb"
    assert (res.width, res.height) == (60000, 60000)
    assert "60000x60000" in res.detail and "not decoded" in res.detail
    # the limit is ours: a tiny limit makes a real photo a bomb too
    small = write_jpeg(tmp_path / "s.jpg", photos(1)[0])
    assert _check(small, max_pixels=1000).problem == "bomb"
    # and Pillow's global limit is left as it was
    assert Image.MAX_IMAGE_PIXELS == 89_478_485


def test_text_named_jpg_and_empty_file_are_not_images(tmp_path):
    p = tmp_path / "x.jpg"
    p.write_text("<!DOCTYPE html><html>photo unavailable</html>")
    res = _check(p)
    assert res.problem == "not_image" and "<!DOCTYPE html>" in res.detail
    e = tmp_path / "e.jpg"
    e.write_bytes(b"")
    assert _check(e).problem == "not_image"
    broken_header = tmp_path / "h.jpg"
    broken_header.write_bytes(jpeg_bytes(photos(1)[0])[:40])
    assert _check(broken_header).problem == "corrupt"


def test_modes_needing_rgb_conversion_are_ok_with_a_note(tmp_path):
    im = photos(1)[0]
    cases = {}
    im.convert("CMYK").save(tmp_path / "cmyk.jpg")
    cases["cmyk.jpg"] = "CMYK"
    im.convert("L").save(tmp_path / "grey.jpg")
    cases["grey.jpg"] = "greyscale"
    im.convert("P", palette=Image.Palette.ADAPTIVE).save(tmp_path / "pal.png")
    cases["pal.png"] = "palette"
    im.convert("RGBA").save(tmp_path / "alpha.png")
    cases["alpha.png"] = "alpha"
    grey16 = (np.asarray(im.convert("L"), dtype=np.uint16) * 257)
    Image.fromarray(grey16).save(tmp_path / "deep.png")
    cases["deep.png"] = "16-bit"
    (tmp_path / "rgb48.png").write_bytes(rgb16_png(im))
    cases["rgb48.png"] = "16-bit"
    for name, word in cases.items():
        res = _check(tmp_path / name)
        assert res.problem == "", (name, res)
        assert res.notes and word in res.notes[0], (name, res.notes)
    assert _check(tmp_path / "cmyk.jpg").mode == "CMYK"


def test_exif_orientation_is_noted(tmp_path):
    im = photos(1)[0]
    exif = Image.Exif()
    exif[0x0112] = 6
    im.save(tmp_path / "rot.jpg", exif=exif)
    assert any("orientation 6" in n for n in _check(tmp_path / "rot.jpg").notes)


def test_parallel_checks_match_serial_ones(tmp_path):
    ims = photos(6)
    tasks = []
    for i, im in enumerate(ims):
        p = write_jpeg(tmp_path / f"{i}.jpg", im)
        tasks.append((p.name, str(p), 89_478_485))
    (tmp_path / "bad.jpg").write_bytes(jpeg_bytes(ims[0])[:500])
    tasks.append(("bad.jpg", str(tmp_path / "bad.jpg"), 89_478_485))
    seen = []
    serial = check_many(tasks, jobs=1)
    parallel = check_many(tasks, jobs=2, on_result=seen.append)
    assert [r.to_json() for r in parallel] == [r.to_json() for r in serial]
    assert len(seen) == len(tasks) and parallel[-1].problem == "corrupt"


def test_cache_reuses_unchanged_files_only(tmp_path):
    p = write_jpeg(tmp_path / "a.jpg", photos(1)[0])
    cache = CheckCache(tmp_path / "c.jsonl")
    cache.add(_check(p))
    cache.close()
    with (tmp_path / "c.jsonl").open("a") as fh:
        fh.write('{"path": "cut sho')  # a crash mid-line
    again = CheckCache(tmp_path / "c.jsonl")
    assert again.lookup("a.jpg", p, 89_478_485) is not None
    assert again.lookup("a.jpg", p, 1000) is None  # another pixel limit: check again
    p.write_bytes(p.read_bytes()[:-10])
    assert again.lookup("a.jpg", p, 89_478_485) is None


def _rows(workdir: Path) -> dict[str, dict[str, str]]:
    with (workdir / "images" / "images.csv").open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames or ()) == IMAGES_COLUMNS
        return {r["image_id"]: r for r in reader}


def test_every_bad_case_gets_its_status(tmp_path):
    root = tmp_path / "emotion_dataset"
    ids = folder_layout(root, per_emotion=2)
    extra = photos(len(ids) + 3)[len(ids):]
    # truncated JPEG, CMYK, 1x1, text named .jpg, 60000x60000 PNG header
    (root / "anger" / "anger_trunc.jpg").write_bytes(jpeg_bytes(extra[0])[:900])
    extra[1].convert("CMYK").save(root / "awe" / "awe_cmyk.jpg")
    Image.new("RGB", (1, 1), (200, 10, 10)).save(root / "fear" / "fear_tiny.png")
    (root / "sadness" / "sadness_text.jpg").write_text("this is not a photograph\n")
    (root / "disgust" / "disgust_bomb.png").write_bytes(bomb_png())
    # one "photo unavailable" placeholder copied many times, across emotions
    holder = Image.new("RGB", (500, 374), (220, 220, 220))
    holder_bytes = jpeg_bytes(holder)
    for i in range(7):
        emotion = ("amusement", "fear", "awe", "sadness")[i % 4]
        (root / emotion / f"{emotion}_gone{i}.jpg").write_bytes(holder_bytes)
    # the same photo under two labels: one copy is kept
    shutil.copy(root / "amusement" / "amusement_0000.jpg", root / "sadness" / "sadness_copy.jpg")
    shutil.copy(root / "anger" / "anger_0001.jpg", root / "disgust_0001_again.jpg")

    s = run_images(tmp_path / "W", root=root, progress=False, config=ImagesConfig(jobs=2))
    rows = _rows(tmp_path / "W")
    st = {i: r["status"] for i, r in rows.items()}
    assert st["anger_trunc"] == "corrupt"
    assert st["awe_cmyk"] == "ok" and "CMYK" in rows["awe_cmyk"]["reason"]
    assert st["fear_tiny"] == "too_small"
    assert st["sadness_text"] == "not_image"
    assert st["disgust_bomb"] == "bomb"
    assert (rows["disgust_bomb"]["width"], rows["disgust_bomb"]["height"]) == ("60000", "60000")
    gone = [i for i in st if "_gone" in i]
    assert len(gone) == 7 and {st[i] for i in gone} == {"placeholder"}
    assert "7 byte-identical copies" in rows[gone[0]]["reason"]
    assert st["amusement_0000"] == "ok" and st["sadness_copy"] == "duplicate"
    assert "as amusement_0000" in rows["sadness_copy"]["reason"]
    assert "conflicting labels" in rows["sadness_copy"]["reason"]
    assert st["anger_0001"] == "ok" and st["disgust_0001_again"] == "duplicate"
    assert "anger_0001" in rows["disgust_0001_again"]["reason"]
    for image_id in ids:
        assert st[image_id] == "ok", rows[image_id]
        assert rows[image_id]["label"] == {"amusement": "positive", "awe": "positive",
                                           "excitement": "positive", "contentment": "neutral"
                                           }.get(ids[image_id], "negative")
        assert rows[image_id]["emotion"] == ids[image_id]
        assert rows[image_id]["path"] == f"{ids[image_id]}/{image_id}.jpg"
    n_ok = len(ids) + 1  # + the CMYK photo
    assert s.per_status["ok"] == n_ok
    assert s.ok_per_label == {"positive": 7, "neutral": 2, "negative": 8}
    report = (tmp_path / "W" / "images" / "report.md").read_text()
    assert "| positive | amusement, awe, excitement | 7 |" in report
    assert "32,868" in report and "10,796" in report and "45,731" in report
    assert "| placeholder | 7 |" in report

    # a rerun reuses every check and writes the same table
    before = (tmp_path / "W" / "images" / "images.csv").read_bytes()
    s2 = run_images(tmp_path / "W", root=root, progress=False, config=ImagesConfig(jobs=2))
    assert s2.checked == 0 and s2.checks_reused == len(rows)
    assert (tmp_path / "W" / "images" / "images.csv").read_bytes() == before


def test_min_size_and_placeholder_threshold_are_options(tmp_path):
    root = tmp_path / "r"
    folder_layout(root, per_emotion=1)
    holder = jpeg_bytes(Image.new("RGB", (300, 200), (128, 128, 128)))
    for i in range(3):
        (root / "awe" / f"awe_gone{i}.jpg").write_bytes(holder)
    run_images(tmp_path / "W", root=root, progress=False, config=ImagesConfig(jobs=1))
    st = {i: r["status"] for i, r in _rows(tmp_path / "W").items()}
    assert sorted(st[f"awe_gone{i}"] for i in range(3)) == ["duplicate", "duplicate", "ok"]
    run_images(tmp_path / "W", root=root, progress=False,
               config=ImagesConfig(jobs=1, placeholder_copies=3, min_size=10_000))
    st = {i: r["status"] for i, r in _rows(tmp_path / "W").items()}
    assert {st[f"awe_gone{i}"] for i in range(3)} == {"placeholder"}
    assert {s for i, s in st.items() if "gone" not in i} == {"too_small"}


def test_interrupted_checks_resume_from_the_journal(tmp_path, monkeypatch):
    import imac_builder.images.stage as stage

    root = tmp_path / "r"
    ids = folder_layout(root, per_emotion=2)
    real = stage.check_many

    def stop_after_5(tasks, jobs, on_result, progress):
        done = []

        def hook(res):
            on_result(res)
            done.append(res)
            if len(done) == 5:
                raise KeyboardInterrupt

        return real(tasks, jobs=jobs, on_result=hook, progress=progress)

    monkeypatch.setattr(stage, "check_many", stop_after_5)
    with pytest.raises(KeyboardInterrupt):
        run_images(tmp_path / "W", root=root, progress=False, config=ImagesConfig(jobs=2))
    assert not (tmp_path / "W" / "images" / "images.csv").exists()
    monkeypatch.undo()
    s = run_images(tmp_path / "W", root=root, progress=False, config=ImagesConfig(jobs=2))
    assert (s.checks_reused, s.checked) == (5, len(ids) - 5)
    assert s.per_status == {"ok": len(ids)}

"""The images stage's readers: three layouts, vote CSVs, URL lists, hostile input."""

from __future__ import annotations

from pathlib import Path

import pytest
from images_support import EMOTIONS, folder_layout, photos, write_jpeg

from imac_builder.errors import UserError
from imac_builder.images.layout import (
    check_relpath,
    emotion_prefix,
    image_id_for,
    read_url_list,
    read_votes,
    scan_root,
)
from imac_builder.images.regroup import LABELS, PAPER_TABLE3, TABLE1, emotions_of, label_of


def test_table1_regrouping_is_the_papers():
    assert sorted(TABLE1) == sorted(EMOTIONS)
    assert emotions_of("positive") == ["amusement", "awe", "excitement"]
    assert emotions_of("neutral") == ["contentment"]
    assert emotions_of("negative") == ["anger", "disgust", "fear", "sadness"]
    assert [label_of(e) for e in ("awe", "contentment", "sadness")] == list(LABELS)
    assert PAPER_TABLE3 == {"positive": 32868, "neutral": 10796, "negative": 45731}


def test_emotion_prefix_does_not_match_longer_words():
    assert emotion_prefix("amusement_0001.jpg") == "amusement"
    assert emotion_prefix("Fear-12.png") == "fear"
    assert emotion_prefix("awesome_1.jpg") is None
    assert emotion_prefix("angered.jpg") is None


def test_folder_layout_labels_come_from_the_folder(tmp_path):
    ids = folder_layout(tmp_path)
    (tmp_path / "fear" / "notes.txt").write_text("not listed")
    (tmp_path / "unsorted").mkdir()
    write_jpeg(tmp_path / "unsorted" / "x.jpg", photos(1)[0])
    listing = scan_root(tmp_path)
    got = {r.image_id: (r.emotion, r.path, r.source) for r in listing.refs}
    assert {i: e for i, (e, _, _) in got.items()} == ids
    assert got["fear_0006"][1] == "fear/fear_0006.jpg"
    assert {s for _, _, s in got.values()} == {"folder"}
    assert listing.ignored_files == 2  # notes.txt and the unsorted folder


def test_flat_layout_labels_come_from_the_file_name(tmp_path):
    ims = photos(4)
    names = ["amusement_0001.jpg", "sadness_0002.JPG", "contentment-3.png", "holiday.jpg"]
    for im, name in zip(ims, names, strict=True):
        im.save(tmp_path / name)
    listing = scan_root(tmp_path)
    got = {r.image_id: (r.emotion, r.path) for r in listing.refs}
    assert got == {
        "amusement_0001": ("amusement", "amusement_0001.jpg"),
        "sadness_0002": ("sadness", "sadness_0002.JPG"),
        "contentment_contentment-3": ("contentment", "contentment-3.png"),
    }
    assert listing.ignored_files == 1


def test_both_layouts_in_one_root_and_id_collisions(tmp_path):
    ims = photos(3)
    write_jpeg(tmp_path / "awe" / "123.jpg", ims[0])
    ims[1].save(tmp_path / "awe" / "123.png")
    write_jpeg(tmp_path / "fear" / "123.jpg", ims[2])
    listing = scan_root(tmp_path)
    got = {r.image_id: r.path for r in listing.refs}
    assert got == {"awe_123": "awe/123.jpg", "awe_123.png": "awe/123.png",
                   "fear_123": "fear/123.jpg"}


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_votes_csvs_and_verified_flag(tmp_path):
    _write(tmp_path / "amusement_flickr.csv",
           "1001,http://farm1.example/1001.jpg,1,4\n"
           "1002,http://farm1.example/1002.jpg,3,2\n"
           "amusement_1003,https://farm1.example/1003.jpg,2,3\n")
    _write(tmp_path / "fear_instagram.csv", "id,url,disagree,agree\n77,http://x.example/a.jpg,0,5\n")
    _write(tmp_path / "readme.csv", "whatever\n")
    listing = read_votes(tmp_path)
    got = {r.image_id: (r.emotion, r.url, r.disagree, r.agree, r.verified) for r in listing.refs}
    assert got == {
        "amusement_1001": ("amusement", "http://farm1.example/1001.jpg", 1, 4, True),
        "amusement_1002": ("amusement", "http://farm1.example/1002.jpg", 3, 2, False),
        "amusement_1003": ("amusement", "https://farm1.example/1003.jpg", 2, 3, True),
        "fear_77": ("fear", "http://x.example/a.jpg", 0, 5, True),
    }
    assert [r.where for r in listing.rejected] == ["readme.csv"]


def test_votes_rows_are_hostile_input(tmp_path):
    _write(tmp_path / "anger_1.csv",
           "../../etc/passwd,http://x.example/a.jpg,0,5\n"
           "/abs,http://x.example/b.jpg,0,5\n"
           "ok1,file:///etc/passwd,0,5\n"
           "ok2,javascript:alert(1),1,4\n"
           "ok3,http://x.example/c.jpg,two,3\n"
           "ok4,http://x.example/d.jpg\n"
           "ok5,http://x.example/e.jpg,0,5\n"
           "ok5,http://x.example/f.jpg,0,5\n")
    listing = read_votes(tmp_path)
    ids = {r.image_id: r.url for r in listing.refs}
    assert ids == {"anger_ok1": None, "anger_ok2": None, "anger_ok5": "http://x.example/e.jpg"}
    reasons = " | ".join(f"{r.where} {r.reason}" for r in listing.rejected)
    assert "anger_1.csv:1 unsafe or empty id" in reasons
    assert "anger_1.csv:2 unsafe or empty id" in reasons
    assert "not an http(s) URL: 'file:///etc/passwd'; URL ignored" in reasons
    assert "anger_1.csv:5 votes are not whole numbers" in reasons
    assert "anger_1.csv:6 expected id,url,disagree,agree" in reasons
    assert "anger_ok5 listed again" in reasons


def test_votes_folder_without_emotion_files_is_a_user_error(tmp_path):
    _write(tmp_path / "list.csv", "1,http://x.example/1.jpg,0,5\n")
    with pytest.raises(UserError, match="no <emotion>_"):
        read_votes(tmp_path)
    with pytest.raises(UserError, match="not a folder"):
        read_votes(tmp_path / "nope")


@pytest.mark.parametrize("bad", ["../x.jpg", "a/../../x.jpg", "/etc/x.jpg", "C:/x.jpg",
                                 "a\\b.jpg", "./x.jpg", "a/b.exe", ""])
def test_paths_from_csvs_are_refused(bad):
    with pytest.raises(ValueError):
        check_relpath(bad)


def test_good_relative_paths_pass():
    assert check_relpath("fear/x.jpg") == "fear/x.jpg"
    assert image_id_for("fear", "Fear_12") == "fear_12"
    assert image_id_for("fear", "12") == "fear_12"
    with pytest.raises(ValueError):
        image_id_for("fear", "a..b")


def test_url_list_formats(tmp_path):
    header = _write(tmp_path / "imac_images.csv",
                    "image_id,url,emotion,path\n"
                    "p1,http://h.example/p1.jpg,Awe,\n"
                    "p2,http://h.example/p2.png,sadness,sadness/custom/p2.png\n"
                    "p3,http://h.example/p3.jpg,joy,\n"
                    "p4,http://h.example/p4.jpg,fear,../../p4.jpg\n"
                    ",http://h.example/img/fear_0042.jpg,fear,\n")
    listing = read_url_list(header)
    got = {r.image_id: (r.emotion, r.url, r.path) for r in listing.refs}
    assert got == {
        "awe_p1": ("awe", "http://h.example/p1.jpg", None),
        "sadness_p2": ("sadness", "http://h.example/p2.png", "sadness/custom/p2.png"),
        "fear_0042": ("fear", "http://h.example/img/fear_0042.jpg", None),
    }
    assert len(listing.rejected) == 2

    bare = _write(tmp_path / "urls.txt", "http://h.example/a/contentment_0001.jpg\n"
                                         "http://h.example/a/unknown.jpg\n")
    got = {r.image_id: r.emotion for r in read_url_list(bare).refs}
    assert got == {"contentment_0001": "contentment"}

    votes = _write(tmp_path / "disgust_part1.csv", "9,http://h.example/9.jpg,1,4\n")
    (ref,) = read_url_list(votes).refs
    assert (ref.image_id, ref.emotion, ref.agree) == ("disgust_9", "disgust", 4)

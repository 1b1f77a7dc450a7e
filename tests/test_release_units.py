"""Small parts of the release package: versions, scrubbing, leak checks, sanitising."""

from __future__ import annotations

from pathlib import Path

import pytest

from imac_builder.errors import UserError
from imac_builder.release.checks import Scrubber, check_relative_path, leaks, video_url
from imac_builder.release.provenance import sanitize
from imac_builder.release.semver import bump, choose_version, parse_version, released


@pytest.mark.parametrize("text", ["1.0", "01.0.0", "1.0.0-rc1", "v1.0.0", "1.0.0 ", ""])
def test_versions_must_be_plain_semver(text):
    with pytest.raises(UserError, match="not a version"):
        parse_version(text)


def test_smallest_allowed_bump_per_level():
    prev = (1, 4, 2)
    assert [bump(prev, lv) for lv in ("patch", "minor", "major")] == \
        [(1, 4, 3), (1, 5, 0), (2, 0, 0)]
    assert choose_version(None, None, "initial", "") == "1.0.0"
    assert choose_version("0.3.0", None, "initial", "") == "0.3.0"
    assert choose_version(None, prev, "minor", "") == "1.5.0"
    assert choose_version("2.0.0", prev, "minor", "") == "2.0.0"  # overstating is allowed
    assert choose_version("1.4.9", prev, "patch", "") == "1.4.9"
    with pytest.raises(UserError, match="understates .* MINOR .* 1.5.0"):
        choose_version("1.4.3", prev, "minor", "3 images added")
    with pytest.raises(UserError, match="already released"):
        choose_version("1.4.2", prev, "patch", "")
    with pytest.raises(UserError, match="already released"):
        choose_version("1.0.0", prev, "major", "")


def test_released_versions_ignore_other_names_and_temporaries(tmp_path):
    for name in ("imac-1.0.0", "imac-1.10.0", "imac-2.0.0-rc", "imacx-9.0.0", ".imac-x.tmp",
                 "other-3.0.0"):
        (tmp_path / name).mkdir()
    assert sorted(released(tmp_path, "imac")) == [(1, 0, 0), (1, 10, 0)]
    assert released(tmp_path / "none", "imac") == {}


def test_scrubber_replaces_local_paths_at_path_boundaries_only():
    work = Path("/srv/imac-build-test/work")
    s = Scrubber([work])
    assert s(f"cannot read {work}/audio/x.flac") == "cannot read <local>/audio/x.flac"
    assert s(f"{work}") == "<local>"
    assert s(f"{work}2/x") == f"{work}2/x"  # another folder that merely starts alike
    assert leaks(s(f"failed: {work}/a"), s) == []
    assert leaks(f"failed: {work}/a", s) == [f"the local path {work}"]


def test_user_name_rules(monkeypatch):
    monkeypatch.setattr("imac_builder.release.checks._user_name", lambda: "alice")
    s = Scrubber()
    assert s("owned by alice") == "owned by <user>"
    assert leaks("Alice in Chains", s) == []  # other case: not the user name
    assert leaks("song by alice", s, user_as_word=False) == []  # metadata may share it
    for text in ("/home/alice/x", "~alice", "alice@host"):
        assert leaks(text, s, user_as_word=False) == ["the user name"], text
    assert leaks("song by alice", s) == ["the user name"]


def test_api_keys_are_found(monkeypatch):
    s = Scrubber()
    assert leaks("key=AIza" + "x" * 35, s) == ["something shaped like a Google API key"]
    monkeypatch.setenv("YOUTUBE_API_KEY", "not-google-shaped-123")
    assert leaks("q=not-google-shaped-123", s) == ["the value of $YOUTUBE_API_KEY"]


def test_sanitize_drops_secrets_and_local_paths():
    redacted: list[str] = []
    doc = {"search": {"api_key_file": "/home/a/key", "results": 5, "backend": "api"},
           "download": {"proxy": "http://u:p@h:1", "Cookies": "c.txt", "sleep": 5},
           "tags": {"lastfm": ["/data/msd/lastfm_tags.db", "rel/x.zip"]}}
    out = sanitize(doc, redacted)
    assert out == {"search": {"results": 5, "backend": "api"}, "download": {"sleep": 5},
                   "tags": {"lastfm": ["lastfm_tags.db", "rel/x.zip"]}}
    assert sorted(redacted) == ["download.Cookies", "download.proxy", "search.api_key_file"]


@pytest.mark.parametrize("path", ["/etc/passwd", "../x.jpg", "a/../../x.jpg", "~/x.jpg",
                                  "C:/x.jpg", "a\\..\\x.jpg"])
def test_relative_paths_cannot_leave_their_folder(path):
    with pytest.raises(UserError, match="absolute or leaves"):
        check_relative_path(path, "images.csv")
    assert check_relative_path("awe/awe_0001.jpg", "images.csv") == "awe/awe_0001.jpg"


def test_video_urls():
    assert video_url("dQw4w9WgXcQ", "", "v") == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    assert video_url("x", "https://example.org/a", "v") == "https://example.org/a"
    for vid, url in (("short", ""), ("x", "file:///etc/passwd"), ("x", "--exec=rm"),
                     ("x", "ftp://h/a")):
        with pytest.raises(UserError):
            video_url(vid, url, "videos.csv")


def test_no_heavy_imports_for_the_cli():
    import subprocess
    import sys

    code = ("import sys, imac_builder.cli.release; "
            "print(sorted(m for m in ('yt_dlp','soundfile','h5py','mlcroissant','torch') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1]).stdout
    assert out.strip() == "[]"

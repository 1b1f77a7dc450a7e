"""Manifests are hostile input; releases must not leak the machine that built them.

Reading: every id and path taken from a manifest is checked before it names a file or
reaches yt-dlp. Writing: cells are scrubbed of the building machine's paths and user
name, and the finished release is scanned for anything that still looks like an API
key, an absolute path of this machine or the user name.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from .. import vocab
from ..errors import UserError

URL_SCHEMES = ("http", "https")
#: Google API keys (YouTube Data API): "AIza" and 35 more characters.
API_KEY = re.compile(r"AIza[0-9A-Za-z_\-]{35}")
KEY_ENV = ("YOUTUBE_API_KEY",)
SECRET_NAMES = re.compile(r"(key|token|secret|passw|cookie|proxy|credential)", re.I)


def check_track_id(value: str, where: str) -> str:
    if not vocab.is_track_id(value):
        raise UserError(f"{where}: {value[:40]!r} is not an MSD track id (TR + 16 "
                        "characters); the manifest is damaged or not trustworthy")
    return value


def check_segment_id(value: str, track_id: str, where: str) -> str:
    m = vocab.SEGMENT_ID.fullmatch(value or "")
    if m is None or m.group(1) != track_id:
        raise UserError(f"{where}: {value[:40]!r} is not a segment id of {track_id} "
                        "(<track_id>_NNN); the manifest is damaged or not trustworthy")
    return value


def check_image_id(value: str, where: str) -> str:
    if not vocab.is_image_id(value):
        raise UserError(f"{where}: {value[:40]!r} is not a usable image id; the manifest "
                        "is damaged or not trustworthy")
    return value


def check_relative_path(value: str, where: str) -> str:
    """A POSIX path relative to some folder that cannot leave it (no ``..``, not absolute)."""
    if value == "":
        return value
    p = PurePosixPath(value)
    if (p.is_absolute() or value.startswith(("~", "\\")) or re.match(r"^[A-Za-z]:", value)
            or ".." in p.parts or "\\" in value or "\x00" in value):
        raise UserError(f"{where}: path {value[:80]!r} is absolute or leaves its folder; "
                        "the manifest is not trustworthy")
    return value


def check_url(value: str, where: str) -> str:
    """Only http(s) URLs with a host reach yt-dlp (never file://, never options)."""
    parts = urlsplit(value)
    if parts.scheme.lower() not in URL_SCHEMES or not parts.hostname:
        raise UserError(f"{where}: {value[:80]!r} is not an http(s) URL; the manifest is "
                        "not trustworthy")
    return value


def video_url(video_id: str, url: str, where: str) -> str:
    """The URL to fetch a video from: the manifest's, or YouTube's from the id."""
    if url:
        return check_url(url, where)
    if not vocab.is_youtube_id(video_id):
        raise UserError(f"{where}: no URL and {video_id[:40]!r} is not a YouTube video id")
    return vocab.watch_url(video_id)


class Scrubber:
    """Replaces this machine's paths and the user name in text written to a release."""

    def __init__(self, roots: Iterable[Path] = ()) -> None:
        prefixes: set[str] = set()
        for p in [*roots, Path.cwd(), Path.home()]:
            for q in (Path(p).absolute(), Path(p).resolve()):
                s = str(q)
                if s not in ("/", ""):
                    prefixes.add(s)
        self.prefixes = sorted(prefixes, key=len, reverse=True)
        self._paths = [re.compile(re.escape(p) + r"(?![\w.-])") for p in self.prefixes]
        self.user = _user_name()
        self._user = re.compile(rf"\b{re.escape(self.user)}\b") if self.user else None

    def __call__(self, text: str) -> str:
        if not text:
            return text
        for rx in self._paths:
            text = rx.sub("<local>", text)
        if self._user is not None:
            text = self._user.sub("<user>", text)
        return text


def _user_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "")


def leaks(text: str, scrubber: Scrubber, user_as_word: bool = True) -> list[str]:
    """What in ``text`` must not be published: API keys, local paths, the user name.

    The user name is searched as a word when ``user_as_word`` (text the release writes
    itself), otherwise only where it forms part of a path (``/name/``, ``~name``), so
    public metadata such as song titles is not refused for sharing a word with it.
    """
    found = []
    if API_KEY.search(text):
        found.append("something shaped like a Google API key")
    for env in KEY_ENV:
        value = os.environ.get(env, "")
        if len(value) >= 8 and value in text:
            found.append(f"the value of ${env}")
    for p, rx in zip(scrubber.prefixes, scrubber._paths, strict=True):
        if rx.search(text):
            found.append(f"the local path {p}")
    if scrubber.user:
        u = re.escape(scrubber.user)
        rx = (scrubber._user if user_as_word
              else re.compile(rf"([/\\~]{u}([/\\]|\b))|(\b{u}[/\\@])"))
        if rx is not None and rx.search(text):
            found.append("the user name")
    return found

"""Search queries from MSD artist/title, and the text normalisation matching relies on.

MSD titles carry what YouTube titles lack: "(Album Version)", "(LP Version)", remaster
notes, "_" where the original had a comma, and several spellings of "featuring".
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

#: Characters of a title or name the chooser reads (YouTube allows 100 in a title): a
#: hand-edited 1 MB "title" costs no more than this; runs of spaces count as one.
MAX_TEXT = 1000
#: Bracketed suffixes MSD appends that name an edition, not a different recording.
_EDITION = re.compile(
    r"\s*[\(\[]\s*(?:[^\(\)\[\]]*?\b(?:album|lp|ep|cd|single|radio|explicit|clean|"
    r"amended|digital(?:ly)?|remaster(?:ed)?|re-?master(?:ed)?|mono|stereo|bonus track|"
    r"original|7\"|12\"|edit)\b[^\(\)\[\]]*?)\s*[\)\]]",
    re.IGNORECASE)
#: Words that mark an edition suffix as describing a different recording: keep those.
_KEEP = re.compile(r"\b(?:live|remix|mix|acoustic|demo|instrumental|version\s+by|cover|"
                   r"session|unplugged|reprise)\b", re.IGNORECASE)
_FEAT = re.compile(r"\s*(?:[\(\[]\s*(?:featuring|feat\.?|ft\.?)\s+[^\)\]]*[\)\]]"
                   r"|\s(?:featuring|feat\.|ft\.)\s.*$)", re.IGNORECASE)
#: Spotify and MSD edition suffixes after a dash: "- 2010 Remaster", "- Remastered
#: Version", "- Single Version", "- Radio Edit", "- Mono", "- From \"Film\"".
_ONE_EDITION = (
    r"(?:(?:\d{4}\s+)?(?:digital(?:ly)?\s+)?re-?master(?:ed)?(?:\s+version)?"
    r"(?:\s+\d{4})?|(?:\d{4}\s+)?(?:stereo|mono)\s+re-?master(?:ed)?|"
    r"(?:single|album|radio|mono|stereo|original|lp|45|7\"|us|uk)"
    r"(?:\s+(?:version|edit|mix|mono|stereo))*|radio\s+edit|(?:\d{4}\s+)?edit|mono|stereo|"
    r"(?:\d{4}\s+)?(?:stereo|mono)\s+(?:mix|version)(?:\s+\d{4})?|"
    r"video\s+edit|(?:vers[aã]o\s+)?remasterizad[oa]|(?:versi[oó]n\s+)?remasterizad[oa]|"
    r"bonus\s+track|faixa\s+b[oô]nus)")
_DASH_EDITION = re.compile(rf"\s+[-–]\s+(?:{_ONE_EDITION}|from\s+.+)\s*$", re.IGNORECASE)
_ONE_EDITION_RE = re.compile(rf"\s*{_ONE_EDITION}\s*", re.IGNORECASE)
_DASH = re.compile(r"\s+[-–]\s+")
_PIECES = re.compile(r"[/;]")
#: Editions after a slash: "Coming Home - Part II / Bonus Track".
_SLASH_EDITION = re.compile(
    r"\s*/\s*(?:bonus\s+track|single\s+version|album\s+version|radio\s+edit|"
    r"soundtrack\s+version|remastered(?:\s+\d{4})?)\s*$", re.IGNORECASE)
_ARTIST_FEAT = re.compile(r"\s+(?:featuring|feat\.?|ft\.?)\s+.*$", re.IGNORECASE)
_THOUSANDS = re.compile(r"(?<=\d)_(?=\d{3}\b)")
_COMMA = re.compile(r"_\s*")
_SPACES = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^\w]+|_")


def _fix_underscores(text: str) -> str:
    """MSD writes commas as "_": "10_000" -> "10,000", "Earth_ Wind" -> "Earth, Wind"."""
    text = _THOUSANDS.sub(",", text)
    return _COMMA.sub(", ", text)


def clean_artist(artist: str) -> str:
    """The main artist as YouTube would show it: commas restored, "feat." dropped,
    "Williams, Kathryn" and "Echoing Green, The" turned round."""
    a = _SPACES.sub(" ", _fix_underscores(artist or "")).strip()
    a = _ARTIST_FEAT.sub("", a)
    m = re.fullmatch(r"(.+?),\s*(the|a|an)", a, re.IGNORECASE)
    if m:
        a = f"{m.group(2).capitalize()} {m.group(1)}"
    else:
        m = re.fullmatch(r"([^\s,]+),\s*([^\s,]+)", a)
        if m and not m.group(2).lower().startswith(("jr", "sr")):
            a = f"{m.group(2)} {m.group(1)}"
    return a.strip(" ,")


def _more_editions(t: str) -> str:
    """The title without a last dash suffix made of several editions ("- Mono / 1997
    Remastered", "- Single Version; 2010 Remaster"), piece by piece (a repeated regex
    group backtracks exponentially on "- mono / mono / … x")."""
    dashes = list(_DASH.finditer(t))
    if dashes:
        pieces = _PIECES.split(t[dashes[-1].end():])
        if len(pieces) > 1 and all(_ONE_EDITION_RE.fullmatch(p) for p in pieces):
            return t[:dashes[-1].start()]
    return t


def clean_title(title: str) -> str:
    """The song title without edition suffixes and featured artists (of its first
    :data:`MAX_TEXT` characters)."""
    t = _SPACES.sub(" ", _fix_underscores((title or "")[:MAX_TEXT])).strip()

    def drop(m: re.Match) -> str:
        return m.group(0) if _KEEP.search(m.group(0)) else ""

    t = _EDITION.sub(drop, t)
    t = _DASH_EDITION.sub("", _more_editions(_SLASH_EDITION.sub("", t)))
    t = _FEAT.sub("", t)
    return _SPACES.sub(" ", t).strip(" -,")


#: Longest query sent: a search box takes a few words; a 10,000-character "title" (bad
#: metadata) would be refused by the API or sent as a POST body for nothing.
MAX_QUERY = 200


def build_query(artist: str, title: str) -> str:
    """The search text for one song: cleaned artist, then cleaned title; control
    characters (NUL, CR, escape...) become spaces and the text is cut at a word boundary
    to :data:`MAX_QUERY` characters."""
    text = f"{clean_artist(artist)} {clean_title(title)}"
    text = "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)
    text = _SPACES.sub(" ", text).strip()
    if len(text) > MAX_QUERY:
        cut = text.rfind(" ", 0, MAX_QUERY + 1)
        text = text[:cut if cut > MAX_QUERY // 2 else MAX_QUERY].rstrip()
    return text


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lower case, accents removed, "&" as "and", punctuation as spaces."""
    t = text or ""
    if not t.isascii():
        t = unicodedata.normalize("NFKD", t)
        t = "".join(c for c in t if not unicodedata.combining(c))
    t = t.lower().replace("ı", "i")  # Turkish dotless i: "Ayrılmam" as "Ayrilmam"
    t = t.replace("&", " and ").replace("'", "").replace("’", "").replace("`", "")
    t = _NON_WORD.sub(" ", t)
    return _SPACES.sub(" ", t).strip()


def words(text: str) -> set[str]:
    """The folded words of a text, for whole-word tests."""
    return set(fold(text).split())

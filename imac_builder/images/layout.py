"""Where the images are: the three layouts the Image Emotion database is found in.

* folders: ``<root>/<emotion>/*.jpg`` (the label is the folder);
* flat: ``<root>/<emotion>_NNNN.jpg`` (the label starts the file name);
* vote CSVs: ``<emotion>_*.csv`` with rows ``id,url,disagree,agree`` and no header
  (the original release: images as Flickr/Instagram URLs, 5 Mechanical Turk votes each).

``--urls`` lists (CSV with a header naming ``url`` and ``emotion``, optionally
``image_id``/``id`` and ``path``; headerless vote rows; or one URL a line) are read here
too. Ids, URLs and paths from these files are hostile input: they are validated here and
a bad row is rejected with a reason, never followed.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from ..errors import UserError
from .regroup import EMOTIONS

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff"})
#: At least this many agreeing votes (of 5) make an image "verified" (the 23k subset).
VERIFIED_MIN_AGREE = 3

_RAW_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_EMOTION_PREFIX = re.compile(r"^(" + "|".join(EMOTIONS) + r")(?=$|[^a-z])", re.IGNORECASE)
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class ImageRef:
    """One image the database lists: on disk (``path``), at a URL, or both."""

    image_id: str
    emotion: str
    path: str | None = None  # POSIX, relative to the image root
    url: str | None = None
    disagree: int | None = None
    agree: int | None = None
    source: str = ""

    @property
    def verified(self) -> bool:
        return self.agree is not None and self.agree >= VERIFIED_MIN_AGREE


@dataclass
class Rejected:
    """An input row or file that was not used, and why."""

    where: str
    reason: str


@dataclass
class Listing:
    """What one reader found, and for a scanned root what it ignored."""

    refs: list[ImageRef] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    #: Top-level folders that are not an emotion: name -> files inside.
    ignored_folders: dict[str, int] = field(default_factory=dict)
    #: Files not used (relative paths): not named ``<emotion>_...``, or not an image.
    ignored_paths: list[str] = field(default_factory=list)

    @property
    def ignored_files(self) -> int:
        return sum(self.ignored_folders.values()) + len(self.ignored_paths)


#: Other image-emotion datasets recognised by their folder names: name -> (its folders,
#: what to do). Recognised when every folder of it that is not an FI emotion is present
#: and at least two thirds of all its folders.
OTHER_DATASETS: dict[str, tuple[frozenset[str], str]] = {
    "Emotion6": (frozenset({"anger", "disgust", "fear", "joy", "sadness", "surprise"}),
                 "Emotion6 has 6 Ekman emotions; joy and surprise are not among the 8 the "
                 "paper's Table 1 regroups (its anger, disgust, fear and sadness were read "
                 "as negative), so it cannot give the 3 IMAC classes: "
                 "point --root at the Image Emotion (FI) database (folders "
                 + ", ".join(EMOTIONS) + ")"),
    "binary sentiment": (frozenset({"positive", "negative"}),
                         "folders positive/negative are a binary sentiment dataset (as "
                         "Twitter I/II), or images already regrouped: this stage needs the 8 "
                         "emotion folders of the Image Emotion (FI) database and applies "
                         "Table 1 itself"),
}


def recognise_layout(listing: Listing) -> tuple[str, str]:
    """The layout ``scan_root`` found (``FI folders``, ``FI flat files``, both, or
    ``none``), and for a known other dataset one line saying which and what to do."""
    kinds = {r.source for r in listing.refs}
    layout = {frozenset({"folder"}): "FI folders (<emotion>/*.jpg)",
              frozenset({"flat"}): "FI flat files (<emotion>_NNNN.jpg)",
              frozenset({"folder", "flat"}): "FI folders and flat files"}.get(
        frozenset(kinds), "none under the image root")
    names = {n.lower() for n in listing.ignored_folders} | {
        r.emotion for r in listing.refs if r.source == "folder"}
    for dataset, (folders, advice) in OTHER_DATASETS.items():
        unknown = folders - set(EMOTIONS)
        if unknown <= names and len(folders & names) * 3 >= len(folders) * 2:
            return layout, f"this looks like {dataset}: {advice}"
    return layout, ""


def emotion_prefix(name: str) -> str | None:
    """The emotion a file name starts with (``amusement_0001.jpg``), or None."""
    m = _EMOTION_PREFIX.match(name)
    return m.group(1).lower() if m else None


def check_raw_id(raw: str) -> str:
    """An id from an input file, or ValueError: letters, digits, ``._-``; no ``..``."""
    raw = raw.strip()
    if not _RAW_ID.fullmatch(raw) or ".." in raw:
        raise ValueError(f"unsafe or empty id {raw[:60]!r}")
    return raw


def image_id_for(emotion: str, raw: str) -> str:
    """The image id: ``<emotion>_<raw>`` unless ``raw`` already starts with the emotion.

    Files named by the database (``amusement_0001``) keep their name; bare ids (Flickr
    numbers) get the emotion in front, so the same id under two emotions stays two images.
    """
    raw = check_raw_id(raw)
    if raw.lower().startswith(emotion + "_"):
        return emotion + raw[len(emotion):]
    return f"{emotion}_{raw}"


def check_relpath(value: str) -> str:
    """A path from an input file, or ValueError: relative, no ``..``, no backslashes."""
    if not value or "\x00" in value or "\\" in value:
        raise ValueError(f"unsafe path {value[:80]!r}")
    p = PurePosixPath(value)
    if p.is_absolute() or re.match(r"^[A-Za-z]:", value):
        raise ValueError(f"absolute path {value[:80]!r} refused")
    if any(part in ("..", ".") for part in value.split("/")) or not p.parts:
        raise ValueError(f"path {value[:80]!r} leaves the image root or is not normal")
    if p.suffix.lower() not in IMAGE_SUFFIXES:
        raise ValueError(f"path {value[:80]!r} has no image suffix")
    return p.as_posix()


def check_url(value: str) -> str:
    """An http(s) URL with a host, or ValueError (no file://, ftp:, javascript: ...)."""
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {value[:80]!r}")
    if any(c.isspace() for c in value) or "\x00" in value:
        raise ValueError(f"URL with spaces or control characters: {value[:80]!r}")
    return value


def url_suffix(url: str) -> str:
    """The image suffix of a URL's path (``.jpg`` when it has none we know)."""
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower()
    return suffix if suffix in IMAGE_SUFFIXES else ".jpg"


def _local_id(emotion: str, stem: str) -> str:
    raw = _UNSAFE_CHARS.sub("_", stem).lstrip("._-")[:200] or "image"
    raw = raw.replace("..", "_")
    return image_id_for(emotion, raw)


def _walk_files(folder: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                yield Path(dirpath) / name


def scan_root(root: Path) -> Listing:
    """Images under ``root`` in the folder layout, the flat layout, or both."""
    out = Listing()
    if not root.is_dir():
        return out
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            emotion = entry.name.lower()
            if emotion not in EMOTIONS:
                out.ignored_folders[entry.name] = sum(1 for _ in _walk_files(entry))
                continue
            for f in _walk_files(entry):
                if f.suffix.lower() not in IMAGE_SUFFIXES:
                    out.ignored_paths.append(f.relative_to(root).as_posix())
                    continue
                out.refs.append(ImageRef(_local_id(emotion, f.stem), emotion,
                                         path=f.relative_to(root).as_posix(), source="folder"))
        elif entry.is_file():
            emotion = emotion_prefix(entry.name)
            if emotion is None or entry.suffix.lower() not in IMAGE_SUFFIXES:
                out.ignored_paths.append(entry.name)
                continue
            out.refs.append(ImageRef(_local_id(emotion, entry.stem), emotion,
                                     path=entry.name, source="flat"))
    out.refs = _unique_ids(out.refs)
    return out


def _unique_ids(refs: list[ImageRef]) -> list[ImageRef]:
    """Give a second file with the same id (``a.jpg`` and ``a.png``) an id of its own."""
    seen: set[str] = set()
    for ref in sorted(refs, key=lambda r: r.path or ""):
        if ref.image_id in seen:
            base = f"{ref.image_id}.{PurePosixPath(ref.path or '').suffix.lstrip('.').lower()}"
            candidate, n = base, 2
            while candidate in seen:
                candidate, n = f"{base}.{n}", n + 1
            ref.image_id = candidate
        seen.add(ref.image_id)
    return sorted(refs, key=lambda r: r.image_id)


def _read_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            for lineno, row in enumerate(csv.reader(fh), 1):
                if row and any(c.strip() for c in row):
                    yield lineno, [c.strip() for c in row]
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text") from None
    except csv.Error as e:
        raise UserError(f"{path} is not a readable CSV file: {e}") from None


def _int_or_none(value: str) -> int | None:
    try:
        n = int(value)
    except ValueError:
        return None
    return n if n >= 0 else None


def _vote_ref(emotion: str, row: list[str], where: str, source: str,
              out: Listing) -> ImageRef | None:
    """A ref from a headerless ``id,url,disagree,agree`` row (url and votes optional)."""
    try:
        image_id = image_id_for(emotion, row[0])
    except ValueError as e:
        out.rejected.append(Rejected(where, str(e)))
        return None
    ref = ImageRef(image_id, emotion, source=source)
    if len(row) > 1 and row[1]:
        try:
            ref.url = check_url(row[1])
        except ValueError as e:
            out.rejected.append(Rejected(where, f"{e}; URL ignored"))
    if len(row) >= 4:
        ref.disagree, ref.agree = _int_or_none(row[2]), _int_or_none(row[3])
        if ref.disagree is None or ref.agree is None:
            out.rejected.append(Rejected(where, "votes are not whole numbers"))
            return None
    return ref


def read_votes(folder: Path) -> Listing:
    """The per-emotion vote CSVs in ``folder`` (``<emotion>_*.csv``, ``id,url,disagree,agree``)."""
    if not folder.is_dir():
        raise UserError(f"--votes {folder} is not a folder")
    out = Listing()
    files = sorted(folder.glob("*.csv"))
    used = 0
    for f in files:
        emotion = emotion_prefix(f.name)
        if emotion is None:
            out.rejected.append(Rejected(f.name, "file name does not start with an emotion"))
            continue
        used += 1
        for lineno, row in _read_rows(f):
            where = f"{f.name}:{lineno}"
            if len(row) < 4:
                out.rejected.append(Rejected(where, "expected id,url,disagree,agree"))
                continue
            if lineno == 1 and _int_or_none(row[3]) is None and _int_or_none(row[2]) is None:
                continue  # a header row some copies carry
            ref = _vote_ref(emotion, row, where, f"votes:{f.name}", out)
            if ref is not None:
                out.refs.append(ref)
    if not used:
        raise UserError(f"--votes {folder} has no <emotion>_*.csv files "
                        f"(emotions: {', '.join(EMOTIONS)})")
    out.refs = _first_per_id(out.refs, out.rejected)
    return out


def _first_per_id(refs: Iterable[ImageRef], rejected: list[Rejected]) -> list[ImageRef]:
    kept: dict[str, ImageRef] = {}
    for ref in refs:
        if ref.image_id in kept:
            rejected.append(Rejected(ref.source, f"{ref.image_id} listed again; first kept"))
        else:
            kept[ref.image_id] = ref
    return list(kept.values())


def read_url_list(path: Path) -> Listing:
    """An image URL list: header CSV, headerless vote rows, or one URL a line."""
    if not path.is_file():
        raise UserError(f"--urls {path} is not a file")
    out = Listing()
    rows = list(_read_rows(path))
    file_emotion = emotion_prefix(path.name)
    source = f"urls:{path.name}"
    if not rows:
        return out
    header = [c.lower() for c in rows[0][1]]
    if "url" in header:
        col = {name: i for i, name in enumerate(header)}
        id_col = col.get("image_id", col.get("id"))
        for lineno, row in rows[1:]:
            where = f"{path.name}:{lineno}"
            row = row + [""] * (len(header) - len(row))
            emotion = (row[col["emotion"]].lower() if "emotion" in col else file_emotion)
            ref = _url_ref(emotion, row[col["url"]], row[id_col] if id_col is not None else "",
                           row[col["path"]] if "path" in col else "", where, source, out)
            if ref is not None:
                out.refs.append(ref)
    else:
        for lineno, row in rows:
            where = f"{path.name}:{lineno}"
            if len(row) == 1:
                url = row[0]
                emotion = file_emotion or emotion_prefix(PurePosixPath(urlsplit(url).path).name)
                ref = _url_ref(emotion, url, "", "", where, source, out)
            elif file_emotion is None:
                out.rejected.append(Rejected(where, "id,url rows need a file name starting "
                                                    "with the emotion"))
                continue
            else:
                ref = _vote_ref(file_emotion, row, where, source, out)
                if ref is not None and ref.url is None:
                    ref = None
            if ref is not None:
                out.refs.append(ref)
    out.refs = _first_per_id(out.refs, out.rejected)
    return out


def _url_ref(emotion: str | None, url: str, raw_id: str, rel: str, where: str, source: str,
             out: Listing) -> ImageRef | None:
    if emotion not in EMOTIONS:
        out.rejected.append(Rejected(where, f"no known emotion ({emotion or 'none given'})"))
        return None
    try:
        url = check_url(url)
        if not raw_id:
            raw_id = _UNSAFE_CHARS.sub("_", PurePosixPath(urlsplit(url).path).stem).strip("._-")
            if not raw_id or ".." in raw_id:
                raw_id = hashlib.sha1(url.encode()).hexdigest()[:16]
        image_id = image_id_for(emotion, raw_id)
        path = check_relpath(rel) if rel else None
    except ValueError as e:
        out.rejected.append(Rejected(where, str(e)))
        return None
    return ImageRef(image_id, emotion, path=path, url=url, source=source)

"""Guards for what comes from outside the program's own making, each written once.

- :func:`video_id`: the one video-id check where ids enter (journals, tables, manifests).
- :func:`finite`: the one number check for numbers read from files (NaN and infinity
  pass every range check, because every comparison with NaN is false).
- :func:`open_input` / :func:`read_bytes` / :func:`read_json`: the bounded reader for
  files a user, a manifest or a work directory names: a regular file (a FIFO would block
  forever, ``/dev/zero`` never ends), of at most a given size, checked on the opened
  descriptor (no window between the check and the read), parsed into one-line errors.
- :func:`open_nofollow`: the safe open for bookkeeping files the program writes in place
  (the lock, the log, the journals): a symbolic link is refused, never followed.
- :func:`printable`: control characters escaped in every message the CLI prints.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any

from .errors import UserError
from .vocab import YOUTUBE_ID

#: What a video id is, in words, for the messages.
VIDEO_ID_RULE = "11 characters of A-Z, a-z, 0-9, '_' and '-'"
#: Largest hand-editable JSON file read (workdir.json, quota.json, metrics.json).
JSON_LIMIT = 16 * 1024 * 1024
#: Deepest nesting such a file may have.
JSON_DEPTH = 64
#: Largest pipeline file (TOML) read: a hand-written file is kilobytes.
CONFIG_LIMIT = 16 * 1024 * 1024
#: Largest table (CSV) or journal (JSON lines) read: both are read whole, and the
#: largest real one (a full search's candidates.jsonl) is a few hundred megabytes.
TABLE_LIMIT = 4 * 1024 * 1024 * 1024
#: Largest image hashed when a release records no size for it (photos are megabytes).
IMAGE_LIMIT = 256 * 1024 * 1024
#: Largest segment FLAC decoded (60 s of mono 16-bit audio is 2.6 MB uncompressed).
SEGMENT_LIMIT = 64 * 1024 * 1024
#: Largest search rank a stored candidate may have (a backend returns at most 500).
RANK_LIMIT = 1_000_000


def shown(value: object, n: int = 40) -> str:
    """A value quoted for a message, cut to ``n`` characters (control characters escaped
    by :func:`repr`)."""
    text = value if isinstance(value, str) else str(value)
    return repr(text[:n]) + ("..." if len(text) > n else "")


# ------------------------------------------------------------------ video ids
def is_video_id(value: object) -> bool:
    """A YouTube video id: exactly 11 characters of ``[A-Za-z0-9_-]`` (a full match)."""
    return isinstance(value, str) and YOUTUBE_ID.fullmatch(value) is not None


def video_id(value: object, where: str, *, empty_ok: bool = False) -> str:
    """``value`` if it is a video id (or empty with ``empty_ok``); else one line naming
    ``where``. Ids reach yt-dlp, URLs and file names: nothing else gets through."""
    if isinstance(value, str) and (is_video_id(value) or (empty_ok and value == "")):
        return value
    raise UserError(f"{where}: {shown(value)} is not a video id ({VIDEO_ID_RULE})")


# ------------------------------------------------------------------ numbers
def finite(value: object, where: str, *, lo: float | None = None, hi: float | None = None,
           integer: bool = False, empty: float | None = None) -> Any:
    """A finite number from a file (JSON number or CSV text), within ``[lo, hi]``.

    NaN, infinity, ``1e999`` (infinity once parsed), booleans, lists and words are
    refused in one line naming ``where``. ``empty`` is returned for ``None`` or ``""``
    when given (an optional field).
    """
    if empty is not None and value in (None, ""):
        return empty
    num: float
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise UserError(f"{where}: {shown(value)} is not a number")
    try:
        num = float(value)
    except (ValueError, OverflowError):
        raise UserError(f"{where}: {shown(value)} is not a number") from None
    if not math.isfinite(num):
        raise UserError(f"{where}: {shown(value)} is not a finite number")
    if integer:
        if num != int(num):
            raise UserError(f"{where}: {shown(value)} is not a whole number")
    if (lo is not None and num < lo) or (hi is not None and num > hi):
        span = f"between {lo:g} and {hi:g}" if lo is not None and hi is not None else \
            f"at least {lo:g}" if lo is not None else f"at most {hi:g}"
        raise UserError(f"{where}: {shown(value)} is out of range (must be {span})")
    return int(num) if integer else num


def finite_or_none(value: object) -> float | None:
    """A finite float, or None for anything else (an optional number that may be absent)."""
    try:
        return finite(value, "", empty=None) if value not in (None, "") else None
    except UserError:
        return None


# ------------------------------------------------------------------ bounded reads
_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISDIR, "a folder"))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def open_input(path: Path | str, what: str, limit: int | None, *, nofollow: bool = False
               ) -> int:
    """Open a named input for reading: a regular file of at most ``limit`` bytes.

    The file is opened without blocking (a FIFO opens at once instead of waiting for a
    writer) and checked on the descriptor, so it cannot be swapped after the check.
    Returns the descriptor (blocking again); raises one line otherwise.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
    if nofollow:
        flags |= os.O_NOFOLLOW
    try:
        fd = os.open(path, flags)
    except OSError as e:
        if nofollow and e.errno == 40:  # ELOOP: the last component is a symbolic link
            raise UserError(f"{path} is a symbolic link: {what} is never read or written "
                            "through a link; replace it with the file") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UserError(f"{path} is {_kind(st.st_mode)}, not a file: {what} must be a "
                            "regular file")
        if limit is not None and st.st_size > limit:
            raise UserError(f"{path} is {st.st_size:,} bytes, over the {limit:,} {what} may "
                            "have: it is not one")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def check_input(path: Path | str, what: str, limit: int | None) -> int:
    """Refuse a named input that is not a regular file of at most ``limit`` bytes (a
    FIFO, ``/dev/zero``) before another library opens it; return its size."""
    fd = open_input(path, what, limit)
    try:
        return os.fstat(fd).st_size
    finally:
        os.close(fd)


#: Largest cookie file read (a browser's export is kilobytes).
COOKIES_LIMIT = 16 * 1024 * 1024


def read_bytes(path: Path | str, what: str, limit: int, *, nofollow: bool = False) -> bytes:
    """The bytes of a named input (see :func:`open_input`), never more than ``limit``."""
    return read_limited(open_input(path, what, limit, nofollow=nofollow), path, what, limit)


def open_text(path: Path | str, what: str, limit: int, *, nofollow: bool = False,
              encoding: str = "utf-8-sig", newline: str | None = "") -> Any:
    """A named input opened as text for a streaming reader (csv), checked first by
    :func:`open_input`: a regular file of at most ``limit`` bytes."""
    return os.fdopen(open_input(path, what, limit, nofollow=nofollow), "r",
                     encoding=encoding, newline=newline)


def read_text(path: Path | str, what: str, limit: int, *, nofollow: bool = False) -> str:
    """UTF-8 text (a byte-order mark allowed) of a named input; anything else one line."""
    data = read_bytes(path, what, limit, nofollow=nofollow)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text: it is not {what}") from None


def read_limited(fd: int, path: Path | str, what: str, limit: int) -> bytes:
    """Every byte of an opened descriptor, never more than ``limit`` (a file that grows
    while read is refused in one line). Memory is taken for what the file holds, not
    for the limit: the size on the descriptor is read first, then 1 MiB blocks if it
    grew."""
    with os.fdopen(fd, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        parts = [fh.read(min(size, limit) + 1)]
        total = len(parts[0])
        while total <= limit and total > size and (block := fh.read(1 << 20)):
            parts.append(block)
            total += len(block)
    if total > limit:
        raise UserError(f"{path} is over the {limit:,} bytes {what} may have: it is not one")
    return parts[0] if len(parts) == 1 else b"".join(parts)


def refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def strict_float(text: str) -> float:
    v = float(text)
    if not math.isfinite(v):
        raise ValueError(f"{text[:20]} overflows to infinity")
    return v


def _depth(doc: Any, limit: int) -> int:
    """How deep arrays and objects nest in a parsed document (counted up to ``limit + 1``;
    one pass, no recursion)."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        obj, d = stack.pop()
        if not isinstance(obj, (list, dict)):
            continue
        deepest = max(deepest, d)
        if deepest > limit:
            return deepest
        for v in (obj.values() if isinstance(obj, dict) else obj):
            if isinstance(v, (list, dict)):
                stack.append((v, d + 1))
    return deepest


def parse_json(text: str, path: Path | str, what: str) -> Any:
    """Parse JSON text strictly: nesting bounded; NaN, Infinity and numbers that overflow
    refused; one line for every way it can be bad. (Linear in the text: the parser
    refuses an unclosed string at once and very deep nesting with RecursionError; the
    depth of what it parsed is counted afterwards.)"""
    try:
        doc = json.loads(text, parse_constant=refuse_constant, parse_float=strict_float)
    except RecursionError:
        raise UserError(f"{path} nests over {JSON_DEPTH} levels deep (more than the parser "
                        f"follows), over the {JSON_DEPTH} {what} may have: it is not one"
                        ) from None
    except ValueError as e:
        raise UserError(f"{path} is not valid JSON ({type(e).__name__}: {str(e)[:80]}): "
                        f"it is not {what}") from None
    depth = _depth(doc, JSON_DEPTH)
    if depth > JSON_DEPTH:
        raise UserError(f"{path} nests {depth}+ levels deep, over the {JSON_DEPTH} {what} may "
                        "have: it is not one")
    return doc


def read_json(path: Path | str, what: str, limit: int = JSON_LIMIT, *,
              nofollow: bool = False) -> Any:
    """A small JSON file a person may edit: bounded, strict, one-line errors."""
    return parse_json(read_text(path, what, limit, nofollow=nofollow), path, what)


def json_object(path: Path | str, what: str, limit: int = JSON_LIMIT, *,
                nofollow: bool = False) -> dict:
    """:func:`read_json` that must give an object (a table of keys)."""
    doc = read_json(path, what, limit, nofollow=nofollow)
    if not isinstance(doc, dict):
        raise UserError(f"{path} holds a JSON {type(doc).__name__}, not an object: it is "
                        f"not {what}")
    return doc


# ------------------------------------------------------------------ safe writes
def open_nofollow(path: Path | str, flags: int, mode: int = 0o644) -> int:
    """``os.open`` for a bookkeeping file the program writes in place (lock, log,
    journal): the last component must not be a symbolic link (``O_NOFOLLOW``), so a link
    planted in the work directory never makes the program truncate or append to a file
    elsewhere. One line names the link."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), mode)
    except OSError as e:
        if e.errno == 40 or (e.errno == 20 and os.path.islink(path)):  # ELOOP
            raise UserError(f"{path} is a symbolic link (to {shown(os.readlink(path), 80)}): "
                            "the program never writes its bookkeeping through a link; "
                            "remove the link and run the command again") from None
        raise


def check_not_link(path: Path | str) -> None:
    """Refuse a bookkeeping file that is a symbolic link before it is replaced."""
    if os.path.islink(path):
        raise UserError(f"{path} is a symbolic link (to {shown(os.readlink(path), 80)}): "
                        "the program never writes its bookkeeping through a link; remove "
                        "the link and run the command again")


def folder_inside(root: Path | str, folder: Path | str, what: str) -> Path:
    """``folder`` (created when absent) once it is known to lie inside ``root`` with
    every symbolic link resolved (:func:`paths.inside`): a folder of the program's own
    output (``logs``, ``review``) linked out of the work directory is refused in one
    line, so nothing is written elsewhere through it."""
    from .paths import inside

    if not inside(root, folder):
        raise UserError(f"{folder} is a symbolic link out of the work directory: {what} is "
                        "never written elsewhere; remove the link (to keep data on another "
                        "disk, link the whole work directory)")
    Path(folder).mkdir(parents=True, exist_ok=True)
    return Path(folder)


# ------------------------------------------------------------------ messages
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029"
                      r"\u202a-\u202e\u2066-\u2069]")


def has_control(text: str) -> bool:
    """Whether ``text`` holds a control character :func:`printable` would escape (C0 but
    tab, DEL, C1 such as NEL U+0085, line separators, bidi overrides and marks) or a tab:
    text a person types into one field (a note) holds none of them."""
    return "\t" in text or _CONTROL.search(text) is not None


def has_surrogates(value: Any) -> bool:
    """Whether ``value`` (a string, or JSON data) holds a lone surrogate: valid JSON
    (``"\\ud800"``) but no text, so it cannot be written as UTF-8 anywhere."""
    try:
        (value if isinstance(value, str) else
         json.dumps(value, ensure_ascii=False)).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


_SURROGATE = re.compile("[\ud800-\udfff]")


def without_surrogates(value: Any) -> Any:
    """JSON data with each lone surrogate replaced by U+FFFD (the replacement
    character), so that it can be written as UTF-8."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [without_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {without_surrogates(k): without_surrogates(v) for k, v in value.items()}
    return value


def printable(text: str) -> str:
    """One line of ``text`` with control characters (ESC, BEL, CR, LF, NUL, bidi
    overrides...) written as escapes (``\\x1b``), so nothing a file holds can drive the
    terminal or add a line; tabs are kept, undecodable bytes (surrogate escapes) are shown
    as ``\\udcXX``."""
    text = _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def finite_or_null(value: object) -> object:
    """``value`` with every NaN or infinite float (at any depth) as None, for JSON that
    strict readers take (``json.dumps(..., allow_nan=False)``)."""
    import math

    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_null(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_null(v) for v in value]
    return value

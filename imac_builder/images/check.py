"""Per-image checks with Pillow, run in parallel across the cores.

Each file is read once: its sha256 is taken from the bytes, then Pillow reads the header
(size, format, mode) and refuses absurd declared dimensions *before* decoding anything
(decompression bombs), then decodes the image to find truncated or corrupt data. JPEGs
are decoded at 1/8 scale (libjpeg's DCT scaling still reads every byte of the entropy-
coded data, so truncation is found, at a fraction of the cost).

Results are cached in ``images/.state/checks.jsonl`` (keyed by path, size, mtime and the
pixel limit) and appended as they come, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import multiprocessing
import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ..config import ImagesConfig
from ..journal import Journal
from ..paths import inside
from ..stopping import stop_workers

log = logging.getLogger(__name__)

#: Pillow's own default limit (about 89.5 megapixels): far above any photograph here.
DEFAULT_MAX_PIXELS = ImagesConfig().max_pixels  # declared in config
#: Files larger than this are hashed in a stream rather than read into memory at once.
_IN_MEMORY = 64 * 1024 * 1024
#: Leading bytes of the formats we expect: a file that starts like one of these but does
#: not open is corrupt, not "not an image".
_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM", b"II*\x00",
          b"MM\x00*")
#: Problems a single file can have, worst first (``status`` words of spec §4).
FILE_PROBLEMS = ("not_image", "bomb", "corrupt")


@dataclass
class CheckResult:
    """What one file is, as far as a single-file check can tell."""

    path: str  # relative to the image root
    size: int = 0
    mtime_ns: int = 0
    max_pixels: int = DEFAULT_MAX_PIXELS
    sha256: str = ""
    width: int | None = None
    height: int | None = None
    format: str = ""
    mode: str = ""
    problem: str = ""  # "", or one of FILE_PROBLEMS, or "missing"
    detail: str = ""
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))


def _printable(data: bytes) -> str:
    text = "".join(chr(b) if 32 <= b < 127 else "." for b in data[:24])
    return text.strip() or data[:12].hex()


@contextmanager
def _pixel_limit(limit: int | None) -> Iterator[None]:
    """Pillow's bomb check at ``limit`` pixels, its warning raised as an error."""
    from PIL import Image

    old = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = limit
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS = old


def conversion_notes(im) -> list[str]:  # noqa: ANN001 (a PIL image)
    """What must happen before the image is a plain 8-bit RGB picture."""
    mode = im.mode
    why: list[str] = []
    if mode == "CMYK":
        why.append("CMYK")
    elif mode in ("YCbCr", "LAB", "HSV"):
        why.append(mode)
    if mode in ("1", "L", "LA", "I", "F") or mode.startswith("I;16"):
        why.append("greyscale")
    if mode in ("P", "PA"):
        why.append("palette")
    rawmodes = [str(t.args[0]) if isinstance(t.args, tuple) and t.args else str(t.args)
                for t in getattr(im, "tile", [])]
    if mode.startswith("I;16") or mode in ("I", "F") or any(";16" in r for r in rawmodes):
        why.append("16-bit")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        why.append("alpha")
    notes = [f"convert to RGB ({', '.join(why)})"] if why else []
    try:
        orientation = im.getexif().get(0x0112)
    except Exception:  # noqa: BLE001 - a broken EXIF block is not a broken image
        orientation = None
    if orientation not in (None, 1):
        notes.append(f"EXIF orientation {orientation}: transpose before use")
    frames = getattr(im, "n_frames", 1)
    if frames > 1:
        notes.append(f"{frames} frames: the first is used")
    return notes


def check_file(task: tuple[str, str, int]) -> CheckResult:
    """Check one file: ``(path relative to the root, absolute path, max pixels)``."""
    return check_files([task])[0]


def check_files(tasks: list[tuple[str, str, int]]) -> list[CheckResult]:
    """Check a batch of files (one unit of work for a pool process)."""
    if not tasks:
        return []
    limits = {t[2] for t in tasks}
    if len(limits) > 1:
        return [check_files([t])[0] for t in tasks]
    with _pixel_limit(tasks[0][2]):
        return [_check_one(*t) for t in tasks]


def _check_one(rel: str, abspath: str, max_pixels: int) -> CheckResult:
    """One file, inside :func:`_pixel_limit` (set once per batch: it is not free)."""
    from PIL import Image, UnidentifiedImageError

    res = CheckResult(rel, max_pixels=max_pixels)
    root = Path(abspath).parents[len(Path(rel).parts) - 1] if rel else Path(abspath).parent
    if not inside(root, abspath):  # a link out of the root: not read, nothing of it shown
        res.problem, res.detail = "not_image", "a symbolic link to a file outside the image " \
            "root: not read"
        return res
    try:
        st = os.stat(abspath)
        res.size, res.mtime_ns = st.st_size, st.st_mtime_ns
        if st.st_size <= _IN_MEMORY:
            with open(abspath, "rb") as fh:
                data = fh.read()
            res.sha256 = hashlib.sha256(data).hexdigest()
            source: io.BytesIO | str = io.BytesIO(data)
            head = data[:32]
        else:
            h = hashlib.sha256()
            with open(abspath, "rb") as fh:
                head = fh.read(32)
                h.update(head)
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
            res.sha256 = h.hexdigest()
            source = abspath
    except OSError as e:
        res.problem, res.detail = "missing", f"cannot read the file: {e.strerror or e}"
        return res
    if res.size == 0:
        res.problem, res.detail = "not_image", "empty file"
        return res

    try:
        im = Image.open(source)
    except UnidentifiedImageError:
        if head.startswith(_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
            res.problem, res.detail = "corrupt", "image header unreadable"
        else:
            res.problem = "not_image"
            res.detail = f"not an image format Pillow reads (starts with {_printable(head)!r})"
        return res
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        _bomb(res, source, max_pixels)
        return res
    except Exception as e:  # noqa: BLE001 - any header failure means a corrupt file
        res.problem, res.detail = "corrupt", f"header: {type(e).__name__}: {e}"[:300]
        return res
    with im:
        res.width, res.height = im.size
        res.format, res.mode = im.format or "", im.mode
        if res.width * res.height > max_pixels:
            _bomb(res, source, max_pixels)
            return res
        try:
            res.notes = conversion_notes(im)
            if im.format == "JPEG":
                im.draft(None, (max(1, res.width // 8), max(1, res.height // 8)))
            im.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            _bomb(res, source, max_pixels)
        except Exception as e:  # noqa: BLE001 - decoder errors are the finding
            res.problem, res.detail = "corrupt", f"{type(e).__name__}: {e}"[:300]
    return res


def _bomb(res: CheckResult, source: io.BytesIO | str, max_pixels: int) -> None:
    """Record a decompression bomb, with its declared size read from the header only."""
    from PIL import Image

    res.problem = "bomb"
    if res.width is None:
        try:
            if isinstance(source, io.BytesIO):
                source.seek(0)
            with _pixel_limit(None), Image.open(source) as im:  # header only, no decoding
                res.width, res.height = im.size
                res.format, res.mode = im.format or "", im.mode
        except Exception:  # noqa: BLE001 - the header was already refused once
            pass
    if res.width is not None and res.height is not None:
        res.detail = (f"declares {res.width}x{res.height} = {res.width * res.height:,} pixels, "
                      f"over the limit of {max_pixels:,}; not decoded")
    else:
        res.detail = f"declares more than {max_pixels:,} pixels; not decoded"


def default_jobs() -> int:
    """The cores this process may use."""
    from ..cores import available_cores

    return available_cores()


def check_many(tasks: list[tuple[str, str, int]], jobs: int = 1,
               on_result: Callable[[CheckResult], None] | None = None,
               progress: bool = False) -> list[CheckResult]:
    """Check files serially (``jobs=1``) or in a process pool; results in task order."""
    from tqdm import tqdm

    results: list[CheckResult] = []
    bar = tqdm(total=len(tasks), desc="check", unit="img", disable=not progress)
    try:
        if jobs <= 1 or len(tasks) < 2:
            step = 64
            for i in range(0, len(tasks), step):
                for res in check_files(tasks[i:i + step]):
                    _collect(res, results, on_result, bar)
        else:
            step = max(1, min(128, len(tasks) // (jobs * 8)))
            batches = [tasks[i:i + step] for i in range(0, len(tasks), step)]
            ctx = multiprocessing.get_context()  # the platform default (fork on Linux)
            with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
                try:
                    for batch in pool.map(check_files, batches):
                        for res in batch:
                            _collect(res, results, on_result, bar)
                except BaseException:
                    pool.shutdown(wait=False, cancel_futures=True)
                    stop_workers()
                    raise
    finally:
        bar.close()
    return results


def _collect(res: CheckResult, results: list[CheckResult],
             on_result: Callable[[CheckResult], None] | None, bar) -> None:  # noqa: ANN001
    results.append(res)
    if on_result is not None:
        on_result(res)
    bar.update(1)


class CheckCache:
    """Finished checks, reused when a file's path, size, mtime and pixel limit match."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.journal = Journal(path)
        self.entries: dict[str, CheckResult] = {}
        names = {f.name for f in fields(CheckResult)}
        for rec in self.journal.replay():
            try:
                res = CheckResult(**{k: v for k, v in rec.items() if k in names})
            except (TypeError, AttributeError):
                continue  # damaged by hand: that image is checked again
            self.entries[res.path] = res

    def lookup(self, rel: str, abspath: Path, max_pixels: int) -> CheckResult | None:
        res = self.entries.get(rel)
        if res is None or res.max_pixels != max_pixels or res.problem == "missing":
            return None
        try:
            st = abspath.stat()
        except OSError:
            return None
        if st.st_size != res.size or st.st_mtime_ns != res.mtime_ns:
            return None
        return res

    def add(self, res: CheckResult) -> None:
        """Record a result and append it to the journal at once (survives a crash)."""
        self.entries[res.path] = res
        if res.problem != "missing":
            self.journal.append(asdict(res))

    def close(self, keep: Iterable[str] | None = None) -> None:
        """Close the journal; with ``keep``, compact it to those paths only."""
        self.journal.close()
        if keep is not None:
            self.journal.compact(asdict(self.entries[p]) for p in sorted(set(keep))
                                 if p in self.entries and self.entries[p].problem != "missing")

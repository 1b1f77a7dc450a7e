"""The contract between stages, declared once: every file a stage hands to another.

Each :class:`Table` names its path in the work directory, its columns, its key, the stage
that writes it and what it holds; :func:`read_table` and :func:`write_table` are the only
CSV reader and writer of those files (atomic writes; a missing file gives the uniform
"run `imac-build X` first" line; a malformed file gives one line naming it). Other files
(JSON lines, HDF5 stores, reports) are declared as :class:`File`. ``docs/formats.md`` is
checked against these declarations by a test.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from . import atomic
from .errors import UserError
from .guard import TABLE_LIMIT, open_text

#: Longest field a table may hold: csv's default limit is 131,072 characters.
FIELD_LIMIT = 131_072


@dataclass(frozen=True)
class File:
    """A file between stages that is not a CSV table (JSON, HDF5, Markdown)."""

    path: str
    writer: str
    description: str

    def at(self, root: Path | str) -> Path:
        """Its location under a work directory ``root``."""
        return Path(root) / self.path


@dataclass(frozen=True)
class Table(File):
    """A UTF-8 CSV table with a header row."""

    columns: tuple[str, ...] = ()
    key: tuple[str, ...] = ()
    #: Whether a key appears at most once (readers refuse a repeat); pairs may repeat.
    unique: bool = True


def _t(path: str, writer: str, columns: str, key: str, description: str) -> Table:
    return Table(path, writer, description, tuple(columns.split()), tuple(key.split()))


SONGS = _t("tags/songs.csv", "tags",
           "track_id song_id artist_name title release duration year pos_score neu_score "
           "neg_score label tags", "track_id",
           "every labelled song: MSD metadata, the three group scores, its label and tags")
EMOTION_TAGS = _t("tags/emotion_tags.csv", "tags", "tag group matched n_tracks kept reason",
                  "tag", "every candidate emotion tag, its group, and whether it was kept")
TAGS_REPORT = File("tags/report.md", "tags", "counts beside the paper's Tables 2 and 3")
IMAC_SCORES = _t("tags/imac_scores.csv", "tags",
                 "song_name artist_name pos_score neu_score neg_score imac_label track_id "
                 "our_label agree", "song_name artist_name",
                 "tags --imac-scores: every row of the authors' score file, its MSD track "
                 "and both labels (an unreadable row as it was, agree `unreadable`)")
IMAC_AGREEMENT = File("tags/imac_agreement.md", "tags",
                      "tags --imac-scores: rows matched, label agreement, confusion table")

CANDIDATES = File("search/candidates.jsonl", "search",
                  "one JSON line per searched song: query, backend, time, candidate videos")
MATCHES = _t("search/matches.csv", "search",
             "track_id video_id url video_title channel_title video_duration score status "
             "reason", "track_id", "the chosen video of every song, or no_match with why")
SCORES = File("search/scores.json", "search",
              "every stored candidate's score under the settings that chose matches.csv "
              "(a cache review reads)")
QUOTA = File("search/quota.json", "search", "API units spent per Pacific-time day")
OVERRIDES = _t("search/overrides.csv", "you", "track_id video_id note", "track_id",
               "a person's decisions, applied by every search run, never written by the "
               "program: a video id wins over the chooser; skip drops the song")

SEGMENTS = _t("download/segments.csv", "download",
              "segment_id track_id video_id index start duration path sha256 label",
              "segment_id", "every exact 60 s segment, its FLAC path and PCM sha256")
LEDGER = _t("download/ledger.csv", "download",
            "track_id video_id url status reason attempts last_attempt n_segments",
            "track_id", "every attempted song: status, reason, attempts")
FAILED_VIDEOS = _t("download/failed_videos.csv", "download",
                   "track_id video_id status reason when", "track_id video_id",
                   "every video that failed for good (unavailable, invalid_media, "
                   "too_short): no search run chooses it again")
AUDIO = File("audio/<track_id>/<segment_id>.flac", "download",
             "mono 22,050 Hz 16-bit FLAC, exactly 1,323,000 samples")

IMAGES = _t("images/images.csv", "images",
            "image_id path emotion label sha256 width height status reason", "image_id",
            "every image found: emotion, IMAC label, checks; only status ok goes on")
IMAGE_FILES = File("images/files/", "images",
                   "the default image root: images fetched with --urls or --votes land here")
IMAGES_REPORT = File("images/report.md", "images", "counts per emotion and class")
IMAGE_LEDGER = _t("images/ledger.csv", "images",
                  "image_id url path status reason attempts last_attempt bytes", "image_id",
                  "every image fetched with --urls")

MUSIC_STORE = File("features/music.h5", "features", "193-d music features per segment")
IMAGE_STORE = File("features/images.h5", "features", "2048-d Inception-v3 features per image")
SPECTROGRAM_STORE = File("features/spectrograms.h5", "features",
                         "log-spectrograms per segment, 128 linear bands in dB "
                         "(Spectrogram-ACP, L3-Net)")
PIXEL_STORE = File("features/pixels.h5", "features", "224 x 224 RGB pixels (L3-Net)")
STORES = {"music": MUSIC_STORE, "images": IMAGE_STORE,
          "spectrograms": SPECTROGRAM_STORE, "pixels": PIXEL_STORE}


def run_file(root: Path | str, run: str, name: str = "") -> Path:
    """``runs/<run>/<name>`` under a work directory (the run folder when ``name`` is "")."""
    return RUNS.at(root) / run / name if name else RUNS.at(root) / run


def store_failures(root: Path | str, modality: str) -> Path:
    """Where a feature store's failures table is (``features/<modality>_failures.csv``)."""
    return failures_table(modality).at(root)


def failures_table(modality: str) -> Table:
    """``features/<modality>_failures.csv``: items a feature store could not hold."""
    id_col = "image_id" if modality in ("images", "pixels") else "segment_id"
    return _t(f"features/{modality}_failures.csv", "features", f"{id_col} reason detail",
              id_col, f"items left out of {modality}.h5 and why")


SPLITS = _t("splits/splits.csv", "split", "item_id modality split", "item_id modality",
            "every item's split (music by song)")
PAIRS = {s: replace(_t(f"splits/pairs_{s}.csv", "split", "image_id segment_id target",
                       "image_id segment_id",
                       f"the fixed {s} pairs (target 1 exactly when the labels are equal)"),
                    unique=False)
         for s in ("val", "test")}
SPLIT_INFO = File("splits/split.json", "split",
                  "seed, ratios, protocol (balanced or paper; absent in splits written before "
                  "protocols: read as paper), counts, merged (songs and images joined to "
                  "another's group), pairs, how music and images were grouped")
RUN = File("runs/<run>/", "train",
           "model.pt, last.pt, metrics.json (protocol, split_sha256, config.recipe), "
           "curves.png; evaluate adds report.md, evaluation.json (protocol, test_accuracy, "
           "ci95, ci95_bootstrap, baselines: music_class_only, image_class_only, class_prior "
           "as fractions; roc_auc, cells, probes, retrieval) and cells.png")
#: The folder of every run (``runs/<run>/`` is :data:`RUN`).
RUNS = File("runs/", "train", "one folder per trained run")
MANIFEST = File("manifests/<name>-<version>/", "release",
                "a release: its tables, manifest.json and croissant.json")

#: Every table and file in pipeline order, for the docs and the contract tests.
DECLARED: tuple[File, ...] = (
    SONGS, EMOTION_TAGS, TAGS_REPORT, IMAC_SCORES, IMAC_AGREEMENT, CANDIDATES, MATCHES, SCORES,
    QUOTA, OVERRIDES, SEGMENTS, LEDGER, FAILED_VIDEOS, AUDIO,
    IMAGES, IMAGE_FILES, IMAGES_REPORT, IMAGE_LEDGER, MUSIC_STORE, IMAGE_STORE, SPECTROGRAM_STORE,
    PIXEL_STORE, *(failures_table(m) for m in STORES), SPLITS, *PAIRS.values(), SPLIT_INFO, RUN,
    MANIFEST,
)


def missing_error(root: Path | str, item: File) -> UserError:
    """The uniform error for an input that a stage has not written yet."""
    return UserError(f"{item.at(root)} does not exist: run `imac-build {item.writer}` first")


def read_table(root: Path | str, table: Table, *, required: Iterable[str] | None = None,
               missing_ok: bool = False) -> list[dict[str, str]]:
    """The rows of a declared table (every value a string, never None).

    ``required`` names the columns the caller needs (default: every declared column).
    A missing file raises the "run X first" line (or gives ``[]`` with ``missing_ok``);
    a file that is not UTF-8 CSV with those columns raises one line naming it.
    """
    return read_csv(table.at(root), required=table.columns if required is None else required,
                    missing=None if missing_ok else missing_error(root, table),
                    what=table.path, key=table.key if table.unique else (),
                    fix=HAND_FIX if table.writer == "you" else STAGE_FIX)


#: How to mend a damaged table: one a stage writes, and one a person writes.
STAGE_FIX = "rerun the stage that writes it"
HAND_FIX = "fix it by hand (a person writes it, no stage does)"


def read_csv(path: Path, *, required: Iterable[str] = (), missing: UserError | None = None,
             what: str = "", key: Sequence[str] = (), fix: str = STAGE_FIX
             ) -> list[dict[str, str]]:
    """Read any UTF-8 CSV with a header; one-line errors for every way it can be bad.

    Text is UTF-8 with or without a byte-order mark; anything else (a spreadsheet's
    Windows-1252, UTF-16) is refused with a line saying to save it as UTF-8, never
    guessed. A field over :data:`FIELD_LIMIT` characters, a file over
    :data:`guard.TABLE_LIMIT` bytes or one that is not a regular file (a FIFO) is
    refused. With ``key``, a
    key that repeats is refused (a table is one row per key: a repeated key is a copy
    and paste or two files joined, never something to count twice).
    """
    path = Path(path)
    if not os.path.lexists(path) or (os.path.islink(path) and not path.exists()):
        if missing is not None:
            raise missing
        return []
    need = set(required)
    what = what or path.name
    # a FIFO, a device or a file over the limit: refused before a byte is read
    try:
        with open_text(path, what, TABLE_LIMIT) as fh:
            # strict: a quote left open is an error, not a note that swallows the rows after
            reader = csv.DictReader(fh, strict=True)
            if reader.fieldnames:  # "track_id " typed in a header is track_id
                reader.fieldnames = [f.strip() for f in reader.fieldnames]
            lacking = need - set(reader.fieldnames or ())
            if lacking:
                raise UserError(f"{path} lacks the column(s) {', '.join(sorted(lacking))}: "
                                f"is it {what}?")
            rows = []
            for row in reader:
                if any(v.strip() for v in row.get(None) or ()):  # fields past the header
                    # (an empty one, a spreadsheet's trailing comma, is nothing)
                    raise UserError(f"{path}, line {reader.line_num}: more fields than the "
                                    f"header's {len(reader.fieldnames or ())} (a comma in a "
                                    f"note? quote the note): {fix}")
                rows.append({k: (v if isinstance(v, str) else "") for k, v in row.items()
                             if k is not None})
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text (re-saved by a spreadsheet?): save it as "
                        f"UTF-8 CSV or {fix}") from None
    except csv.Error as e:
        raise UserError(f"{path} is not a readable CSV table ({e}): {fix}") from None
    if key and not lacking_key(key, rows):
        check_unique(path, key, rows, fix)
    return rows


def lacking_key(key: Sequence[str], rows: list[dict[str, str]]) -> bool:
    """Whether the rows lack a key column (a caller read only some columns)."""
    return bool(rows) and any(c not in rows[0] for c in key)


def check_unique(path: Path, key: Sequence[str], rows: Iterable[dict[str, str]],
                 fix: str = STAGE_FIX) -> None:
    """Refuse a table in which a key appears on more than one row (one line naming it)."""
    seen: dict[tuple[str, ...], int] = {}
    for i, row in enumerate(rows, 2):
        k = tuple(row.get(c, "").strip() for c in key)  # "TR1" and "TR1 " are one key
        if not any(k):
            continue  # a blank row is no record
        if k in seen:
            shown = "/".join(k)[:80]
            raise UserError(f"{path}: {'/'.join(key)} {shown!r} appears twice (rows {seen[k]} "
                            f"and {i}); a table holds one row per key: remove the copies or "
                            f"{fix}")
        seen[k] = i


def check_field_sizes(table: Table, rows: Sequence[Sequence[object]]) -> None:
    """Refuse a field longer than a reader of the table will accept."""
    for row in rows:
        for col, v in zip(table.columns, row, strict=False):
            if isinstance(v, str) and len(v) >= FIELD_LIMIT:
                raise UserError(f"{table.path}: a {col} value of {len(v):,} characters is "
                                f"over the {FIELD_LIMIT:,} a CSV reader accepts; shorten it "
                                "in the input")


def write_table(root: Path | str, table: Table, rows: Iterable[Sequence[object]]) -> int:
    """Write a declared table atomically, in its declared column order."""
    rows = list(rows)
    check_field_sizes(table, rows)
    return atomic.write_csv(table.at(root), table.columns, rows)


#: What makes a spreadsheet read a cell as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _is_formula(value: str) -> bool:
    if not value.startswith(FORMULA_START):
        return False
    try:
        float(value)  # -5, +1.5: numbers, not formulas
    except ValueError:
        return True
    return False


def formula_cells(path: Path) -> list[tuple[int, str, str]]:
    """``(row, column, value)`` of every cell of a CSV that a spreadsheet would take for a
    formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a CR and is no number).

    The data keep such values as they are (a title may start with "-"); releases and
    ``verify`` report them, and :func:`write_csv_safe` writes a copy for spreadsheets.
    """
    out = []
    with Path(path).open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        for i, row in enumerate(reader, 2):
            out += [(i, header[j] if j < len(header) else str(j), v)
                    for j, v in enumerate(row) if v and _is_formula(v)]
    return out


def write_csv_safe(src: Path, dst: Path) -> int:
    """Copy a CSV with every formula-like cell prefixed by ``'`` (which spreadsheets show
    as text); return how many cells were prefixed. The source is not changed."""
    n = 0
    rows = []
    with Path(src).open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        for row in reader:
            safe = ["'" + v if v and _is_formula(v) else v for v in row]
            n += sum(a != b for a, b in zip(safe, row, strict=True))
            rows.append(safe)
    atomic.write_csv(dst, header, rows)
    return n

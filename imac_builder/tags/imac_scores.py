"""The IMAC authors' "Song Emotion Score File" beside our own labels.

The file (one row per song: song name, artist name, posScore, neuScore, negScore) is
read as CSV or TSV with its header names matched loosely; each row is matched to MSD
tracks by folded artist and title, through the MSD metadata (``track_metadata.db`` or
``unique_tracks.txt``) when given and through ``tags/songs.csv`` always. The row's label
is its highest score (a tie has none). Writes ``tags/imac_scores.csv`` (every row, its
track and both labels) and ``tags/imac_agreement.md`` (rows matched, label agreement,
confusion table), so a user can rebuild the paper's song list or see how ours differs.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .. import atomic, tables
from ..errors import UserError
from ..guard import finite
from ..search.query import fold
from ..vocab import LABELS
from ..workdir import Workdir

#: Loose header names: the key is the header folded to letters only.
_HEADERS = {
    "song": ("songname", "song", "title", "songtitle", "name", "track", "trackname"),
    "artist": ("artistname", "artist", "singer", "band"),
    "pos": ("posscore", "pos", "positive", "positivescore"),
    "neu": ("neuscore", "neu", "neutral", "neutralscore"),
    "neg": ("negscore", "neg", "negative", "negativescore"),
}


@dataclass(frozen=True)
class ScoreRow:
    """One row of the score file."""

    song: str
    artist: str
    pos: float
    neu: float
    neg: float

    @property
    def label(self) -> str:
        """The class of the highest score; empty on a tie."""
        scores = (self.pos, self.neu, self.neg)
        top = max(scores)
        if scores.count(top) > 1:
            return ""
        return LABELS[scores.index(top)]


def _key(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


def read_score_file(path: Path, unreadable: list[list[str]] | None = None
                    ) -> tuple[list[ScoreRow], int]:
    """The rows of a Song Emotion Score File and the number of unreadable rows (their
    cells, as song, artist, pos, neu, neg where present, appended to ``unreadable``)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"score file {path} does not exist")
    from ..guard import read_bytes

    data = read_bytes(path, "a score file", 1 << 30)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data:
            raise UserError(f"score file {path} is UTF-16 or binary, not text: save it as "
                            "UTF-8 CSV") from None
        text = data.decode("latin-1")  # the authors' 8-bit file: every byte is a letter
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first else ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, None)
    if not header:
        raise UserError(f"score file {path} is empty")
    where: dict[str, int] = {}
    for i, name in enumerate(header):
        k = _key(name)
        for field_name, names in _HEADERS.items():
            if k in names and field_name not in where:
                where[field_name] = i
    missing = [f for f in _HEADERS if f not in where]
    if missing:
        raise UserError(f"score file {path}: no column for {', '.join(missing)} in its header "
                        f"({', '.join(header)}); expected song name, artist name, posScore, "
                        "neuScore, negScore")
    rows, bad = [], 0
    for rec in reader:
        if not any(x.strip() for x in rec):
            continue
        try:
            vals = {f: rec[i].strip() for f, i in where.items()}
            rows.append(ScoreRow(vals["song"], vals["artist"],
                                 *(finite(vals[k], "score") for k in ("pos", "neu", "neg"))))
        except (IndexError, ValueError, UserError):  # NaN and infinity are no scores
            bad += 1
            if unreadable is not None:
                unreadable.append([rec[where[f]].strip() if where[f] < len(rec) else ""
                                   for f in ("song", "artist", "pos", "neu", "neg")])
    return rows, bad


def _name_key(artist: str, title: str) -> tuple[str, str]:
    return fold(artist), fold(title)


def _metadata_index(path: Path, keys: set[tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
    """Track ids of every MSD track whose (artist, title) is among ``keys``."""
    from .lastfm import SQLITE_MAGIC, connect_readonly
    from .metadata import SEP

    path = Path(path)
    if not path.is_file():
        raise UserError(f"metadata file {path} does not exist")
    out: dict[tuple[str, str], list[str]] = {}

    def add(tid: str, artist: str, title: str) -> None:
        k = _name_key(artist or "", title or "")
        if k in keys:
            out.setdefault(k, []).append(tid)

    with path.open("rb") as fh:
        head = fh.read(16)
    if head == SQLITE_MAGIC:
        con = connect_readonly(path)
        try:
            for tid, artist, title in con.execute(
                    "SELECT track_id, artist_name, title FROM songs"):
                add(tid, artist, title)
        except Exception as e:  # noqa: BLE001 - sqlite3 errors of a foreign file
            raise UserError(f"{path}: cannot read table songs ({e})") from None
        finally:
            con.close()
        return out
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            parts = line.rstrip("\r\n").split(SEP)
            if len(parts) == 4:
                add(parts[0], parts[2], parts[3])
    return out


@dataclass
class ImacAgreement:
    """How the authors' labels compare with ours."""

    rows: int = 0
    bad_rows: int = 0
    ties: int = 0
    matched_msd: int = 0
    in_our_songs: int = 0
    compared: int = 0
    agree: int = 0
    our_songs: int = 0
    ours_not_theirs: int = 0
    metadata: str = ""
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def agreement(self) -> float:
        return self.agree / self.compared if self.compared else 0.0

    def lines(self) -> list[str]:
        out = [f"IMAC score file: {self.rows} rows ({self.bad_rows} unreadable, {self.ties} "
               f"ties); {self.matched_msd} matched to MSD tracks"
               f"{'' if self.metadata else ' (no --metadata: only our labelled songs)'}, "
               f"{self.in_our_songs} among our {self.our_songs} labelled songs",
               f"label agreement {self.agree}/{self.compared} ({self.agreement:.1%}); "
               f"{self.ours_not_theirs} of our songs are not in their file"]
        out += [f"wrote {p}" for p in self.outputs]
        return out

    def report(self, source: str) -> str:
        rows = [["theirs \\ ours", *LABELS, "not labelled by us"]]
        for theirs in LABELS:
            c = self.confusion.get(theirs, {})
            rows.append([theirs, *(str(c.get(o, 0)) for o in LABELS), str(c.get("", 0))])
        table = "\n".join("| " + " | ".join(r) + " |" for r in rows[:1])
        table += "\n|" + "---|" * len(rows[0]) + "\n"
        table += "\n".join("| " + " | ".join(r) + " |" for r in rows[1:])
        return (f"# The IMAC authors' song labels beside ours\n\n"
                f"Score file: `{source}`; metadata: "
                f"{f'`{self.metadata}`' if self.metadata else 'none (tags/songs.csv only)'}."
                f"\n\n| | count |\n|---|---|\n"
                f"| rows in their file | {self.rows} |\n"
                f"| unreadable rows | {self.bad_rows} |\n"
                f"| rows without a label (tied scores) | {self.ties} |\n"
                f"| rows matched to an MSD track | {self.matched_msd} |\n"
                f"| rows among our labelled songs | {self.in_our_songs} |\n"
                f"| our labelled songs | {self.our_songs} |\n"
                f"| our songs not in their file | {self.ours_not_theirs} |\n"
                f"| **label agreement** | **{self.agree}/{self.compared} "
                f"({self.agreement:.1%})** |\n\n"
                f"Their label is the class of the highest of posScore, neuScore, negScore; "
                f"ours is `tags/songs.csv`'s. Rows are matched by artist and title, folded "
                f"(case, accents, punctuation); `tags/imac_scores.csv` lists every row.\n\n"
                f"## Confusion (rows: their label; columns: ours)\n\n{table}\n")


def compare_imac_scores(workdir: Workdir | Path, scores: Path, metadata: Path | None = None,
                        progress: bool = True) -> ImacAgreement:
    """Match the authors' score file to MSD tracks and compare its labels with ours."""
    wd = workdir if isinstance(workdir, Workdir) else Workdir(Path(workdir))
    broken: list[list[str]] = []
    rows, bad = read_score_file(scores, broken)
    ours = {r["track_id"]: r for r in tables.read_table(
        wd.root, tables.SONGS, required=("track_id", "artist_name", "title", "label"))}
    keys = {_name_key(r.artist, r.song) for r in rows}
    index: dict[tuple[str, str], list[str]] = {}
    if metadata is not None:
        index = _metadata_index(metadata, keys)
    for tid, r in ours.items():
        k = _name_key(r["artist_name"], r["title"])
        if k in keys and tid not in index.get(k, []):
            index.setdefault(k, []).append(tid)
    s = ImacAgreement(rows=len(rows) + bad, bad_rows=bad, our_songs=len(ours),
                      metadata=str(metadata) if metadata else "")
    confusion: dict[str, Counter] = {lab: Counter() for lab in LABELS}
    out_rows = []
    seen: set[str] = set()
    for row in rows:
        tids = index.get(_name_key(row.artist, row.song), [])
        labelled = [t for t in tids if t in ours]
        tid = labelled[0] if labelled else (tids[0] if tids else "")
        our = ours[tid]["label"] if tid in ours else ""
        theirs = row.label
        s.ties += not theirs
        s.matched_msd += bool(tids)
        s.in_our_songs += bool(labelled)
        seen.update(labelled)
        agree = ""
        if theirs and our:
            s.compared += 1
            s.agree += theirs == our
            agree = "yes" if theirs == our else "no"
        if theirs and tids:
            confusion[theirs][our] += 1
        out_rows.append((row.song, row.artist, f"{row.pos:g}", f"{row.neu:g}",
                         f"{row.neg:g}", theirs, tid, our, agree))
    out_rows += [(*cells, "", "", "", "unreadable") for cells in broken]
    s.ours_not_theirs = len(set(ours) - seen)
    s.confusion = {k: dict(v) for k, v in confusion.items()}
    tables.write_table(wd.root, tables.IMAC_SCORES, out_rows)
    atomic.write_text(tables.IMAC_AGREEMENT.at(wd.root), s.report(str(scores)))
    s.outputs = [str(tables.IMAC_SCORES.at(wd.root)), str(tables.IMAC_AGREEMENT.at(wd.root))]
    return s

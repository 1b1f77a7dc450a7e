"""What the tags stage did (its songs and summary), apart from the stage so that the
report can name them without an import circle."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .emotion import LABELS
from .metadata import TrackMeta


@dataclass
class Song:
    """One labelled song (a row of ``tags/songs.csv``)."""

    meta: TrackMeta
    scores: dict[str, int]
    label: str
    tags: list[str]

    def row(self) -> tuple:
        m = self.meta
        duration = "" if m.duration is None else f"{m.duration:.5f}".rstrip("0").rstrip(".")
        return (m.track_id, m.song_id, m.artist_name, m.title, m.release, duration,
                m.year, self.scores["positive"], self.scores["neutral"],
                self.scores["negative"], self.label, "|".join(self.tags))


@dataclass
class TagsSummary:
    """What the stage did, for the CLI, the report and a notebook."""

    tracks_read: int = 0
    tracks_with_candidates: int = 0
    songs_labelled: int = 0
    songs_per_label: dict[str, int] = field(default_factory=dict)
    candidate_tags: int = 0
    kept_tags: int = 0
    kept_tags_per_group: dict[str, int] = field(default_factory=dict)
    dropped_ambiguous: int = 0
    dropped_excluded: int = 0
    entries_below_min_weight: int = 0
    songs_without_metadata: int = 0
    duplicates_merged: int = 0
    skipped_files: int = 0
    skipped_reasons: dict[str, int] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        per = ", ".join(f"{self.songs_per_label.get(g, 0)} {g}" for g in LABELS)
        out = [
            f"read {self.tracks_read} tracks; {self.songs_labelled} songs labelled ({per})",
            f"{self.kept_tags} emotion tags kept of {self.candidate_tags} candidates "
            f"({self.dropped_ambiguous} ambiguous, {self.dropped_excluded} excluded)",
        ]
        if self.songs_without_metadata:
            out.append(f"{self.songs_without_metadata} labelled songs lack metadata")
        if self.skipped_files:
            why = ", ".join(f"{n} {r}" for r, n in sorted(self.skipped_reasons.items()))
            out.append(f"skipped {self.skipped_files} unreadable track records ({why})")
        out += [f"wrote {p}" for p in self.outputs]
        return out

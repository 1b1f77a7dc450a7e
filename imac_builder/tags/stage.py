"""``run_tags``: Last.fm tags to labelled songs, written as ``tags/*.csv`` and a report."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from .. import atomic, tables
from ..config import TagsConfig
from ..errors import UserError
from ..workdir import Workdir
from .emotion import LABELS, Exclusions, TagDecision, classify_tag, is_candidate, label_of
from .lastfm import LastfmTags, read_lastfm
from .metadata import TrackMeta, read_metadata
from .report import render_report
from .summary import Song, TagsSummary

log = logging.getLogger(__name__)

SONGS_COLUMNS = tables.SONGS.columns


def run_tags(
    workdir: Workdir | Path,
    *,
    lastfm: Sequence[Path],
    metadata: Path | None = None,
    config: TagsConfig | None = None,
    progress: bool = True,
) -> TagsSummary:
    """Select, clean and group emotion tags; label songs; write the stage's outputs."""
    config = config or TagsConfig()
    wd = workdir if isinstance(workdir, Workdir) else Workdir(Path(workdir))
    if not lastfm:
        raise UserError("give at least one --lastfm source")
    excl = (Exclusions.from_file(Path(config.exclusions)) if config.exclusions is not None
            else Exclusions.default())
    data = read_lastfm(lastfm, is_candidate, progress=progress)
    decisions, tracks_per_tag = _decide_tags(data, excl)
    summary = TagsSummary(tracks_read=data.tracks_read,
                          tracks_with_candidates=len(data.entries),
                          duplicates_merged=data.duplicates_merged,
                          skipped_files=sum(data.skipped.values()),
                          skipped_reasons=dict(data.skipped))
    labelled = _label(data, decisions, config.min_tag_weight, summary)
    songs = _songs(labelled, data, metadata, summary)
    _count_tags(decisions, songs, summary)
    root = wd.root
    tables.write_table(root, tables.SONGS, (s.row() for s in songs))
    tag_rows = sorted(decisions.values(), key=lambda d: (-tracks_per_tag[d.tag], d.tag))
    tables.write_table(root, tables.EMOTION_TAGS, (
        (d.tag, d.group, "|".join(d.matched), tracks_per_tag[d.tag], int(d.kept), d.reason)
        for d in tag_rows))
    atomic.write_text(tables.TAGS_REPORT.at(root), render_report(
        summary, songs, decisions, tracks_per_tag, data, excl, config.min_tag_weight,
        metadata))
    summary.outputs = [str(f.at(root)) for f in (tables.SONGS, tables.EMOTION_TAGS,
                                                 tables.TAGS_REPORT)]
    log.info("tags: %s", "; ".join(summary.lines()))
    return summary


def _decide_tags(data: LastfmTags, excl: Exclusions
                 ) -> tuple[dict[str, TagDecision], Counter[str]]:
    """Every candidate tag's decision (group, kept or why not), and its track count."""
    decisions: dict[str, TagDecision] = {}
    for per in data.entries.values():
        for tag in per:
            if tag not in decisions:
                d = classify_tag(tag, excl)
                if d is not None:
                    decisions[tag] = d
    tracks_per_tag: Counter[str] = Counter()
    for per in data.entries.values():
        tracks_per_tag.update(t for t in per if t in decisions)
    return decisions, tracks_per_tag


def _label(data: LastfmTags, decisions: dict[str, TagDecision], min_tag_weight: float,
           summary: TagsSummary) -> dict[str, tuple[dict[str, int], str, list[str]]]:
    """Each track's scores per group, label and kept tags (tracks without a label out)."""
    labelled: dict[str, tuple[dict[str, int], str, list[str]]] = {}
    for track_id, per in data.entries.items():
        scores = dict.fromkeys(LABELS, 0)
        kept: list[str] = []
        for tag, weight in per.items():
            d = decisions.get(tag)
            if d is None or not d.kept:
                continue
            if weight < min_tag_weight:
                summary.entries_below_min_weight += 1
                continue
            scores[d.group] += 1
            kept.append(tag)
        label = label_of(scores)
        if label is not None:
            labelled[track_id] = (scores, label, sorted(kept))
    return labelled


def _songs(labelled: dict[str, tuple[dict[str, int], str, list[str]]], data: LastfmTags,
           metadata: Path | None, summary: TagsSummary) -> list[Song]:
    """The labelled songs with their metadata (from the file, else from the JSON)."""
    meta: dict[str, TrackMeta] = {}
    if metadata is not None:
        meta = read_metadata(Path(metadata), labelled.keys())
    songs: list[Song] = []
    for track_id in sorted(labelled):
        scores, label, tags = labelled[track_id]
        m = meta.get(track_id)
        if m is None:
            artist, title = data.artist_title.get(track_id, (None, None))
            m = TrackMeta(track_id=track_id, artist_name=artist, title=title)
            if artist is None:
                summary.songs_without_metadata += 1
        songs.append(Song(m, scores, label, tags))
    return songs


def _count_tags(decisions: dict[str, TagDecision], songs: list[Song],
                summary: TagsSummary) -> None:
    summary.songs_labelled = len(songs)
    summary.songs_per_label = {g: sum(s.label == g for s in songs) for g in LABELS}
    summary.candidate_tags = len(decisions)
    summary.kept_tags = sum(d.kept for d in decisions.values())
    summary.kept_tags_per_group = {
        g: sum(d.kept and d.group == g for d in decisions.values()) for g in LABELS}
    summary.dropped_ambiguous = sum(d.group == "ambiguous" for d in decisions.values())
    summary.dropped_excluded = sum(not d.kept and d.group != "ambiguous"
                                   for d in decisions.values())

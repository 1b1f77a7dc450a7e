"""``tags/report.md``: this build beside the paper's Tables 2 and 3."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from ..markdown import table
from .emotion import LABELS, Exclusions, TagDecision, normalize
from .summary import Song, TagsSummary

if TYPE_CHECKING:
    from .lastfm import LastfmTags

#: Paper Table 2: example tags with their frequency in the paper's database.
PAPER_TABLE2: dict[str, list[tuple[str, int]]] = {
    "positive": [("this will always make me happy", 1), ("so energetic", 26),
                 ("makes me energetic and wanna dance", 3), ("joyous", 103)],
    "neutral": [("soothing for the ear to hear", 18), ("cool and relaxing music", 14),
                ("calmness", 43)],
    "negative": [("sad", 873), ("makes me sad", 89), ("for the painfully alone", 34)],
}
#: Paper §2: tags left after cleaning, per group.
PAPER_TAGS = {"positive": 952, "neutral": 752, "negative": 1267}
#: Paper Table 3: music samples per class (after the YouTube search).
PAPER_SONGS = {"positive": 1342, "neutral": 1511, "negative": 959}
TOP_N = 10


def render_report(summary: TagsSummary, songs: list[Song], decisions: dict[str, TagDecision],
                  tracks_per_tag: Counter[str], data: LastfmTags, excl: Exclusions,
                  min_tag_weight: float, metadata: Path | None) -> str:
    """The Markdown report; deterministic, so reruns are byte-identical."""
    freq: dict[str, Counter[str]] = {g: Counter() for g in LABELS}
    for s in songs:
        seen: set[str] = set()
        for t in s.tags:
            norm = normalize(t)
            if norm not in seen:
                seen.add(norm)
                freq[decisions[t].group][norm] += 1
    L = ["# Tags report", ""]
    L.append("Sources: " + ", ".join(data.sources) + ".")
    L.append("Metadata: " + (Path(metadata).name if metadata else
                             "none given (artist and title from the JSON files, if any)") + ".")
    L.append(f"Exclusions: {excl.source} ({len(excl)} entries); minimum tag weight: "
             f"{min_tag_weight:g}.")
    L += ["", "## Counts", ""]
    L += table(["what", "count"], [
        ["tracks read", summary.tracks_read],
        ["tracks with a candidate tag", summary.tracks_with_candidates],
        ["songs labelled", summary.songs_labelled],
        ["labelled songs lacking metadata (no artist/title)", summary.songs_without_metadata],
        ["tag entries below the minimum weight", summary.entries_below_min_weight],
        ["track records read again and merged", summary.duplicates_merged],
        ["track records skipped (unreadable)", summary.skipped_files],
    ])
    if data.skipped:
        L += ["", "Skipped track records by reason:", ""]
        L += table(["reason", "records"], [[r, n] for r, n in sorted(data.skipped.items())])
        L += ["", "First examples: " + "; ".join(data.skipped_examples[:5]) + "."]
    L += ["", "## Emotion tags after cleaning", ""]
    L += table(["group", "this build", "paper"], [
        [g, summary.kept_tags_per_group.get(g, 0), f"{PAPER_TAGS[g]:,}"] for g in LABELS
    ] + [["total", summary.kept_tags, f"{sum(PAPER_TAGS.values()):,}"],
         ["dropped: ambiguous", summary.dropped_ambiguous, "—"],
         ["dropped: exclusion list", summary.dropped_excluded, "—"]])
    L += ["", "Tag strings are counted as stored (\"Sad\" and \"sad\" are two tags); "
          "`emotion_tags.csv` lists every candidate with why it was kept or dropped."]
    L += ["", "## Table 2: most frequent tags per class", "",
          f"Frequency = labelled songs carrying the tag (case folded). Top {TOP_N} per class:", ""]
    rows = []
    for g in LABELS:
        for tag, n in sorted(freq[g].items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_N]:
            rows.append([g, tag, n])
    L += table(["class", "tag", "songs"], rows)
    L += ["", "The paper's Table 2 examples beside this build:", ""]
    L += table(["class", "tag", "paper", "this build"], [
        [g, tag, n, freq[g].get(tag, 0)] for g in LABELS for tag, n in PAPER_TABLE2[g]])
    L += ["", "## Table 3: songs per class", ""]
    L += table(["class", "this build (tags stage)", "paper (after YouTube)"], [
        [g, summary.songs_per_label.get(g, 0), f"{PAPER_SONGS[g]:,}"] for g in LABELS
    ] + [["total", summary.songs_labelled, f"{sum(PAPER_SONGS.values()):,}"]])
    L += ["", "The paper counts songs found on YouTube; this stage counts every labelled "
          "MSD song, before the search stage drops those with no match.", ""]
    dropped = sorted((d for d in decisions.values() if not d.kept),
                     key=lambda d: (-tracks_per_tag[d.tag], d.tag))[:20]
    if dropped:
        L += ["## Most frequent dropped tags", ""]
        L += table(["tag", "tracks", "reason"],
                    [[d.tag, tracks_per_tag[d.tag], d.reason] for d in dropped])
        L.append("")
    return "\n".join(L)

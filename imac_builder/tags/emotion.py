"""Emotion tag selection, grouping, ambiguity and exclusions (paper §2, spec §1)."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import UserError
from ..vocab import LABELS

#: The paper's eight strings in their three groups; LABELS is also the tie-break order
#: (a tie goes to the more positive group).
GROUPS: dict[str, tuple[str, ...]] = dict(zip(LABELS, (
    ("happy", "joyous", "energetic"),
    ("soothing", "relax", "calm"),
    ("sad", "pain"),
), strict=True))
_STRINGS = tuple((s, g) for g, ss in GROUPS.items() for s in ss)
_CANDIDATE_RE = re.compile("|".join(s for s, _ in _STRINGS))
_SPACE_RE = re.compile(r"\s+")


def normalize(tag: str) -> str:
    """The text a tag is matched on: lower-cased, whitespace collapsed, ends stripped."""
    return _SPACE_RE.sub(" ", tag.lower()).strip()


def is_candidate(tag: str) -> bool:
    """True when the lower-cased tag contains one of the eight strings."""
    return _CANDIDATE_RE.search(tag.lower()) is not None


@dataclass(frozen=True)
class TagDecision:
    """What happened to one candidate tag."""

    tag: str
    group: str  # the group of its strings; "ambiguous" when two groups match
    matched: tuple[str, ...]  # which of the eight strings it contains
    kept: bool
    reason: str  # empty when kept


class Exclusions:
    """A curated list of tags to drop, one per line, ``#`` comments, case-insensitive.

    A line holding ``*`` or ``?`` is a shell-style wildcard pattern (``*spain*``), so a
    family of false matches is one line; any other line must equal the whole tag.
    """

    def __init__(self, lines: list[str], source: str) -> None:
        self.source = source
        self.exact: set[str] = set()
        self.patterns: list[tuple[str, re.Pattern[str]]] = []
        for raw in lines:
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            entry = normalize(line)
            if "*" in entry or "?" in entry:
                self.patterns.append((entry, re.compile(fnmatch.translate(entry))))
            else:
                self.exact.add(entry)

    @classmethod
    def default(cls) -> Exclusions:
        """The project's reviewed default list (``imac_builder/data/exclusions.txt``)."""
        text = resources.files("imac_builder").joinpath("data/exclusions.txt").read_text("utf-8")
        return cls(text.splitlines(), "default list")

    @classmethod
    def from_file(cls, path: Path) -> Exclusions:
        try:
            text = Path(path).read_text("utf-8")
        except FileNotFoundError:
            raise UserError(f"exclusion list {path} does not exist") from None
        except UnicodeDecodeError:
            raise UserError(f"exclusion list {path} is not UTF-8 text") from None
        except IsADirectoryError:
            raise UserError(f"exclusion list {path} is a folder, not a file") from None
        return cls(text.splitlines(), str(Path(path).name))

    def match(self, tag: str) -> str | None:
        """The entry that excludes ``tag``, or None."""
        norm = normalize(tag)
        if norm in self.exact:
            return norm
        for entry, rx in self.patterns:
            if rx.match(norm):
                return entry
        return None

    def __len__(self) -> int:
        return len(self.exact) + len(self.patterns)


def classify_tag(tag: str, exclusions: Exclusions) -> TagDecision | None:
    """Decide one tag: None when it is not a candidate at all."""
    norm = normalize(tag)
    matched = tuple(s for s, _ in _STRINGS if s in norm)
    if not matched:
        return None
    groups = sorted({g for s, g in _STRINGS if s in matched}, key=LABELS.index)
    if len(groups) > 1:
        return TagDecision(tag, "ambiguous", matched, False, "ambiguous: " + "+".join(groups))
    entry = exclusions.match(tag)
    if entry is not None:
        return TagDecision(tag, groups[0], matched, False,
                           f"excluded by {exclusions.source}: {entry}")
    return TagDecision(tag, groups[0], matched, True, "")


def label_of(scores: dict[str, int]) -> str | None:
    """The group with the highest score; a tie goes to the more positive group."""
    best = max(scores[g] for g in LABELS)
    if best <= 0:
        return None
    return next(g for g in LABELS if scores[g] == best)

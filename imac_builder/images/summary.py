"""What the images stage did (its rows and summary), apart from the stage so that the
report can name them without an import circle."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..vocab import LABELS

#: Ignored files named one by one in the summary (the rest are counted).
_IGNORED_SHOWN = 10


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")

@dataclass
class Row:
    """One row of ``images/images.csv``."""

    image_id: str
    path: str
    emotion: str
    label: str
    sha256: str = ""
    width: int | None = None
    height: int | None = None
    status: str = "ok"
    reason: str = ""

    def row(self) -> tuple:
        return (self.image_id, self.path, self.emotion, self.label, self.sha256, self.width,
                self.height, self.status, self.reason)


@dataclass
class ImagesSummary:
    """What the stage did, for the CLI, the report and a notebook."""

    image_root: str = ""
    images_listed: int = 0
    per_status: dict[str, int] = field(default_factory=dict)
    ok_per_emotion: dict[str, int] = field(default_factory=dict)
    ok_per_label: dict[str, int] = field(default_factory=dict)
    found_on_disk: int = 0
    dropped_unverified: int = 0
    fetch_attempted: int = 0
    downloaded: int = 0
    already_present: int = 0
    fetch_failed: int = 0
    not_retried: int = 0
    fetch_failures: dict[str, int] = field(default_factory=dict)
    checked: int = 0
    checks_reused: int = 0
    jobs: int = 1
    layout: str = ""
    other_dataset: str = ""
    ignored_files: int = 0
    ignored_folders: dict[str, int] = field(default_factory=dict)
    ignored_paths: list[str] = field(default_factory=list)
    listed_per_label: dict[str, int] = field(default_factory=dict)
    empty_classes: list[str] = field(default_factory=list)
    empty_emotions: list[str] = field(default_factory=list)
    allow_missing_classes: bool = False
    rejected_rows: int = 0
    rejected_examples: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def ignored_line(self) -> str:
        """``ignored 2 folders (joy: 3 files, ...) and 1 file (notes.txt)``, or ``""``."""
        if not self.ignored_files:
            return ""
        folders = ", ".join(f"{n}: {_count(c, 'file')}" for n, c in self.ignored_folders.items())
        shown = self.ignored_paths[:_IGNORED_SHOWN]
        files = ", ".join(shown) + (f", ... ({len(self.ignored_paths) - len(shown)} more)"
                                    if len(self.ignored_paths) > len(shown) else "")
        parts = []
        if self.ignored_folders:
            parts.append(f"{_count(len(self.ignored_folders), 'folder')} not named after an "
                         f"emotion ({folders})")
        if self.ignored_paths:
            parts.append(f"{_count(len(self.ignored_paths), 'file')} not an <emotion>_... "
                         f"image ({files})")
        return "ignored " + " and ".join(parts)

    def missing_line(self) -> str:
        """The classes and emotions no input listed an image for, or ``""``."""
        parts = []
        if self.empty_classes:
            parts.append("no image of class " + ", ".join(self.empty_classes))
        if self.empty_emotions:
            parts.append("no image of emotion " + ", ".join(self.empty_emotions))
        return "; ".join(parts)

    def lines(self) -> list[str]:
        ok = self.per_status.get("ok", 0)
        per = ", ".join(f"{self.ok_per_label.get(g, 0)} {g}" for g in LABELS)
        bad = ", ".join(f"{n} {s}" for s, n in sorted(self.per_status.items()) if s != "ok")
        out = [f"layout: {self.layout} in {self.image_root}" if self.layout else "",
               self.other_dataset, self.ignored_line()]
        if self.missing_line():
            out.append(f"warning: {self.missing_line()} (--allow-missing-classes given)")
        out = [line for line in out if line]
        out.append(f"{self.images_listed} images listed; {ok} usable ({per})")
        unusable = [g for g in LABELS if self.listed_per_label.get(g)
                    and not self.ok_per_label.get(g)]
        if unusable:
            out.append(f"warning: no usable image of class {', '.join(unusable)}")
        if bad:
            out.append(f"not usable: {bad}")
        out.append(f"checked {self.checked} files on {self.jobs} core(s); "
                   f"{self.checks_reused} earlier checks reused")
        if self.fetch_attempted or self.already_present:
            out.append(f"downloaded {self.downloaded}, {self.fetch_failed} failed, "
                       f"{self.already_present} already on disk, {self.not_retried} permanent "
                       "failures not asked again")
        if self.dropped_unverified:
            out.append(f"dropped {self.dropped_unverified} images with fewer than 3 "
                       "agreeing votes (--verified-only)")
        if self.rejected_rows:
            out.append(f"rejected {self.rejected_rows} input rows (see images/report.md)")
        out += [f"wrote {p}" for p in self.outputs]
        return out

"""``imac-build review``: write ``W/review/index.html``, one self-contained page (its script,
styles and data inline; no network) to check every song's match and decide by hand."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import atomic
from ..cores import resolve_jobs
from ..workdir import Workdir
from .data import build_data, embed_json

#: Where the page is written, under the work directory.
PAGE = "review/index.html"
_HERE = Path(__file__).parent
_SLOT = re.compile(r"@(NONCE|CSS|JS|DATA)@")


@dataclass
class ReviewSummary:
    """What ``review`` wrote."""

    page: str = ""
    songs: int = 0
    candidates: int = 0
    scored_now: int = 0
    bad_lines: int = 0
    bytes: int = 0
    seconds: float = 0.0
    url: str = ""
    workdir: str = ""
    outputs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        out = [f"wrote {self.page}: {self.songs} songs, {self.candidates} candidates "
               f"({self.bytes / 1e6:.1f} MB, {self.seconds:.1f} s; {self.scored_now} songs "
               "scored now, the rest from the cache)"]
        if self.bad_lines:
            out.append(f"ignored {self.bad_lines} unreadable candidates.jsonl lines")
        if self.url:
            out.append(f"serving {self.url} (127.0.0.1 only); decisions are saved to "
                       "search/overrides.csv; Ctrl-C stops")
        else:
            from ..workdir import command

            out.append("open it in a browser; export the decisions as overrides.csv into "
                       f"search/, then run: {command(self.workdir, 'search', '--rerank')}")
        return out


def render_page(data: dict[str, Any]) -> str:
    """The page's HTML with its styles, script and data inline."""
    nonce = secrets.token_urlsafe(18)
    parts = {"NONCE": nonce, "CSS": (_HERE / "page.css").read_text(encoding="utf-8"),
             "JS": (_HERE / "page.js").read_text(encoding="utf-8"), "DATA": embed_json(data)}
    # one pass, so that a slot's spelling inside the data or script is never replaced
    return _SLOT.sub(lambda m: parts[m.group(1)],
                     (_HERE / "page.html").read_text(encoding="utf-8"))


def write_review(workdir: Workdir | Path, *, token: str = "", jobs: int = 0,
                 progress: bool = False) -> ReviewSummary:
    """Build the page data from the work directory's tables and write the page.

    ``token`` (``--serve``) goes into the page: the server accepts decisions only with it.
    ``jobs`` workers score candidates not in the cache (0: one per core).
    """
    from ..guard import folder_inside

    wd = workdir if isinstance(workdir, Workdir) else Workdir(Path(workdir))
    # the page and the score cache are written only inside the work directory
    folder_inside(wd.root, (wd.root / PAGE).parent, "the review page")
    t = time.perf_counter()
    data, counts = build_data(wd, jobs=resolve_jobs(jobs))
    data["token"] = token
    data["written"] = datetime.now(UTC).isoformat(timespec="seconds")
    html = render_page(data)
    path = wd.root / PAGE
    atomic.write_text(path, html)
    return ReviewSummary(page=str(path), workdir=str(wd.root), songs=counts["songs"],
                         candidates=counts["candidates"],
                         scored_now=counts["scored_now"], bad_lines=counts["bad_lines"],
                         bytes=len(html.encode("utf-8")),
                         seconds=round(time.perf_counter() - t, 2), outputs=[str(path)])

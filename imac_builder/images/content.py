"""Statuses that depend on more than one file: placeholders and exact duplicates.

Dead Flickr links answer with the same "photo is no longer available" picture, so the
same bytes turn up many times: content seen at least ``placeholder_copies`` times is a
placeholder (found by frequency, not by a list of known hashes). Content seen fewer
times but more than once is a duplicate: one copy is kept (the one with the most
agreeing votes, then the smallest image id) and the others say which one was kept.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from ..config import ImagesConfig
from .check import CheckResult
from .layout import ImageRef
from .regroup import label_of

DEFAULT_PLACEHOLDER_COPIES = ImagesConfig().placeholder_copies  # declared in config
DEFAULT_MIN_SIZE = ImagesConfig().min_size  # declared in config


@dataclass
class Verdict:
    """The ``status`` and ``reason`` columns of one row of ``images.csv``."""

    status: str
    reason: str = ""


def judge(refs: dict[str, ImageRef], checks: dict[str, CheckResult],
          min_size: int = DEFAULT_MIN_SIZE,
          placeholder_copies: int = DEFAULT_PLACEHOLDER_COPIES) -> dict[str, Verdict]:
    """Verdicts for every checked image (keys: image ids present in ``checks``)."""
    out: dict[str, Verdict] = {}
    by_sha: dict[str, list[str]] = defaultdict(list)
    for image_id, res in checks.items():
        if res.problem:
            out[image_id] = Verdict(res.problem, res.detail)
        else:
            by_sha[res.sha256].append(image_id)

    for sha, ids in by_sha.items():
        if len(ids) >= placeholder_copies:
            res = checks[ids[0]]
            for image_id in ids:
                out[image_id] = Verdict("placeholder", (
                    f"{len(ids)} byte-identical copies of one {res.width}x{res.height} "
                    f"{res.format or 'image'} (sha256 {sha[:12]}): a dead-link placeholder"))
    for image_id, res in checks.items():
        if image_id in out:
            continue
        w, h = res.width or 0, res.height or 0
        if min(w, h) < min_size:
            out[image_id] = Verdict("too_small", f"{w}x{h}, under --min-size {min_size}")

    for sha, ids in by_sha.items():
        live = [i for i in ids if i not in out]
        if len(live) < 2:
            continue
        live.sort(key=lambda i: (-(refs[i].agree if refs[i].agree is not None else -1), i))
        keep = live[0]
        kept = refs[keep]
        for image_id in live[1:]:
            ref = refs[image_id]
            reason = (f"same content (sha256 {sha[:12]}) as {keep} ({checks[keep].path}), "
                      "which is kept")
            if label_of(ref.emotion) != label_of(kept.emotion):
                reason += (f"; conflicting labels: {kept.emotion}/{label_of(kept.emotion)} "
                           f"there, {ref.emotion}/{label_of(ref.emotion)} here")
            elif ref.emotion != kept.emotion:
                reason += f"; {kept.emotion} there, {ref.emotion} here"
            out[image_id] = Verdict("duplicate", reason)
        others = ", ".join(live[1:6]) + (" ..." if len(live) > 6 else "")
        notes = checks[keep].notes + [f"kept over {len(live) - 1} duplicate(s): {others}"]
        out[keep] = Verdict("ok", "; ".join(notes))

    for image_id, res in checks.items():
        if image_id not in out:
            out[image_id] = Verdict("ok", "; ".join(res.notes))
    return out

"""``images/report.md``: counts per emotion and per class beside the paper's Table 3."""

from __future__ import annotations

from collections import Counter

from ..markdown import table
from .regroup import EMOTIONS, LABELS, PAPER_TABLE3, TABLE1, emotions_of
from .summary import ImagesSummary, Row

#: Ignored files listed by name in the report (the rest are counted).
IGNORED_LISTED = 200

#: Statuses in the order the report lists them.
STATUS_ORDER = ("ok", "corrupt", "not_image", "too_small", "bomb", "duplicate", "placeholder",
                "download_failed", "missing")


def render_report(summary: ImagesSummary, rows: list[Row], settings: dict[str, object]) -> str:
    """The Markdown report; deterministic, so reruns on the same input are identical."""
    per: dict[str, Counter[str]] = {e: Counter() for e in EMOTIONS}
    for r in rows:
        per[r.emotion][r.status] += 1
    statuses = [s for s in STATUS_ORDER if any(c[s] for c in per.values())]
    statuses += sorted({s for c in per.values() for s in c} - set(statuses))

    L = ["# Images report", ""]
    L.append(f"Image root: `{summary.image_root}` (paths in `images.csv` are relative to it).")
    L.append("Settings: " + ", ".join(f"{k} = {v}" for k, v in settings.items()) + ".")
    L += _layout_section(summary)
    L += ["", "## Per emotion (paper Table 1 regrouping)", ""]
    L += table(["emotion", "class", "listed", *statuses], [
        [e, TABLE1[e], sum(per[e].values()), *(per[e][s] for s in statuses)] for e in EMOTIONS
    ] + [["total", "", len(rows), *(sum(per[e][s] for e in EMOTIONS) for s in statuses)]])

    L += ["", "## Per class beside the paper's Table 3", ""]
    ok_total = sum(summary.ok_per_label.values())
    paper_total = sum(PAPER_TABLE3.values())

    def share(n: int, d: int) -> str:
        return f"{100 * n / d:.1f}%" if d else "-"

    L += table(["class", "emotions", "usable images (ok)", "share", "paper Table 3",
                 "paper share", "ok / paper"], [
        [g, ", ".join(emotions_of(g)), summary.ok_per_label.get(g, 0),
         share(summary.ok_per_label.get(g, 0), ok_total), f"{PAPER_TABLE3[g]:,}",
         share(PAPER_TABLE3[g], paper_total),
         share(summary.ok_per_label.get(g, 0), PAPER_TABLE3[g])] for g in LABELS
    ] + [["total", "", ok_total, "", f"{paper_total:,}", "", share(ok_total, paper_total)]])
    L += ["", "The paper used the weakly labelled set of about 90,000 images; many of its "
          "Flickr links are dead today, so a rebuild finds fewer.", ""]

    if summary.fetch_attempted or summary.already_present:
        L += ["## Downloads", ""]
        L += table(["what", "count"], [
            ["downloaded in this run", summary.downloaded],
            ["already on disk (not fetched again)", summary.already_present],
            ["failed in this run", summary.fetch_failed],
            ["permanent failures not asked again", summary.not_retried],
        ])
        if summary.fetch_failures:
            L += ["", "Failures by kind (`images/ledger.csv` has one row per URL):", ""]
            L += table(["kind", "count"], sorted(summary.fetch_failures.items()))
        L.append("")

    examples: dict[str, Row] = {}
    for r in rows:
        if r.status != "ok" and r.status not in examples:
            examples[r.status] = r
    if examples:
        L += ["## Problems, one example each", ""]
        L += table(["status", "count", "example", "reason"], [
            [s, summary.per_status.get(s, 0), examples[s].image_id, examples[s].reason]
            for s in statuses if s in examples])
        L.append("")
    notes = Counter(r.reason.split(";")[0] for r in rows
                    if r.status == "ok" and r.reason.startswith("convert"))
    if notes:
        L += ["## Accepted images that need converting to RGB", ""]
        L += table(["conversion", "images"], sorted(notes.items(), key=lambda kv: -kv[1]))
        L.append("")
    if summary.rejected_rows:
        L += [f"## Input rows not used ({summary.rejected_rows})", ""]
        L += table(["where", "why"], [r.split(": ", 1) if ": " in r else [r, ""]
                                       for r in summary.rejected_examples])
        L.append("")
    return "\n".join(L)


def _layout_section(summary: ImagesSummary) -> list[str]:
    """The layout recognised, what was ignored under the root, and what is empty."""
    L = ["", "## Layout and what was ignored", ""]
    L.append(f"Layout recognised under the image root: {summary.layout or 'none'}.")
    if summary.other_dataset:
        L += ["", f"**Warning:** {summary.other_dataset[0].upper()}{summary.other_dataset[1:]}."]
    if summary.missing_line():
        L += ["", f"**Warning:** {summary.missing_line()} (kept: --allow-missing-classes)."]
    if not summary.ignored_files:
        L += ["", "Nothing under the image root was ignored."]
        return L
    L += ["", f"{summary.ignored_files} files under the image root were not used.", ""]
    if summary.ignored_folders:
        L += [f"Folders not named after one of the 8 emotions "
              f"({len(summary.ignored_folders)}):", ""]
        L += table(["folder", "files"], sorted(summary.ignored_folders.items()))
        L.append("")
    if summary.ignored_paths:
        shown = summary.ignored_paths[:IGNORED_LISTED]
        L += [f"Files not an `<emotion>_...` image or without an image suffix "
              f"({len(summary.ignored_paths)}):", ""]
        L += table(["file"], [[p] for p in shown])
        if len(summary.ignored_paths) > len(shown):
            L += ["", f"... and {len(summary.ignored_paths) - len(shown)} more."]
    return L

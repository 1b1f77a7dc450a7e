"""The status words the hand-written pages explain are exactly the code's.

The generated reference (docs/formats.md) lists every status with its advice; the stage
pages explain *when* each happens, in tables of their own. These tests fail when a page's
table names a word the code does not have, or misses one it has.
"""

from __future__ import annotations

import re
from pathlib import Path

from imac_builder import vocab
from imac_builder.images.fetch import PERMANENT, TRANSIENT

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _table_words(page: str, header: str) -> set[str]:
    """First-column words (in backticks) of the table whose header row starts ``header``."""
    lines = (DOCS / page).read_text(encoding="utf-8").splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(header))
    words = set()
    for ln in lines[start + 2:]:
        if not ln.startswith("|"):
            break
        m = re.match(r"\|\s*`([a-z_]+)`", ln)
        assert m, f"{page}: row without a status word: {ln[:60]}"
        words.add(m.group(1))
    return words


def test_download_page_explains_every_download_status():
    assert _table_words("download.md", "| status | when") == set(vocab.DOWNLOAD_STATUSES)


def test_images_page_explains_every_image_status():
    assert _table_words("images.md", "| status | when") == set(vocab.IMAGE_STATUSES)


def test_images_page_names_every_ledger_status():
    text = (DOCS / "images.md").read_text(encoding="utf-8")
    para = text[text.index("`images/ledger.csv` (when anything"):]
    para = para[:para.index("\n\n")]
    listed = set(re.findall(r"`([a-z_]+)`", para.split("one of", 1)[1]))
    assert listed == {"ok"} | PERMANENT | TRANSIENT


def test_features_page_explains_every_failure_reason():
    src = Path(__file__).resolve().parent.parent / "imac_builder" / "features"
    raised = {m for f in src.glob("*.py")
              for m in re.findall(r'FeatureError\("([a-z_]+)"', f.read_text(encoding="utf-8"))}
    assert raised  # the pattern still finds the code's reasons
    assert _table_words("features.md", "| reason | meaning") == raised | {"error"}

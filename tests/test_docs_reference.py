"""The generated reference pages match the code; a changed default makes them differ."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _gen():
    spec = importlib.util.spec_from_file_location("gen_docs", REPO / "scripts/gen_docs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


@pytest.mark.parametrize("page", ["formats.md", "configuration.md", "commands.md"])
def test_reference_pages_match_the_code(page: str) -> None:
    text = _gen().pages()[page]
    on_disk = (REPO / "docs" / page).read_text(encoding="utf-8")
    assert on_disk == text, f"docs/{page} is out of date: run python scripts/gen_docs.py"


def test_a_changed_default_or_column_shows_in_the_pages(monkeypatch) -> None:
    from imac_builder import config, tables

    gen = _gen()
    before = gen.pages()
    changed = dataclasses.make_dataclass(
        "SearchConfig", [("min_score", float, dataclasses.field(default=74.0))],
        bases=(config.SearchConfig,), frozen=True)
    monkeypatch.setitem(config.CONFIGS, "search", changed)
    assert gen.pages()["configuration.md"] != before["configuration.md"]
    monkeypatch.undo()
    songs = dataclasses.replace(tables.SONGS, columns=(*tables.SONGS.columns, "extra"))
    monkeypatch.setattr(tables, "DECLARED", (songs, *tables.DECLARED[1:]))
    assert gen.pages()["formats.md"] != before["formats.md"]


def test_every_status_word_the_code_writes_is_documented() -> None:
    from imac_builder import vocab
    from imac_builder.images.report import STATUS_ORDER

    assert set(STATUS_ORDER) <= set(vocab.IMAGE_STATUSES)
    formats = (REPO / "docs/formats.md").read_text(encoding="utf-8")
    for table in (vocab.SEARCH_STATUSES, vocab.DOWNLOAD_STATUSES, vocab.IMAGE_STATUSES):
        for word in table:
            assert f"`{word}`" in formats

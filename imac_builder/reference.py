"""Reference pages generated from the code: files between stages, configuration, statuses.

``python scripts/gen_docs.py`` writes them into ``docs/``; a test fails when a page
differs from what the code declares, so the reference cannot drift.
"""

from __future__ import annotations

from dataclasses import fields

from . import config, stages, tables, vocab
from .markdown import table


def _code(values: object) -> str:
    if isinstance(values, tuple | list):
        return ", ".join(f"`{v}`" for v in values) if values else "(none)"
    return "(none)" if values is None else f"`{values}`"


def formats_page() -> str:
    """``docs/formats.md``: every declared file between stages, and every status word."""
    L = ["# Data formats between stages", "",
         "<!-- generated from imac_builder/tables.py and vocab.py by scripts/gen_docs.py: "
         "do not edit by hand -->", "",
         "Every file a stage hands to another, as declared in `imac_builder/tables.py`. "
         "Tables are UTF-8 CSV with a header row, written atomically (a temporary file, then "
         "a rename); the key identifies a row. These names and columns are the public "
         "contract between stages and with collaborators: they change only with a new "
         "release-format version.", ""]
    rows = []
    for f in tables.DECLARED:
        cols = _code(f.columns) if isinstance(f, tables.Table) else ""
        key = "" if not isinstance(f, tables.Table) else _code(f.key) if f.unique else \
            "none: a row may repeat"
        rows.append((f.writer, f"`{f.path}`", f.description, cols, key))
    L += table(("written by", "file", "what it holds", "columns", "key"), rows)
    L += ["", "Every command remembers the configuration it ran with in `workdir.json`.", "",
          "## Stages in order", ""]
    L += table(("stage", "reads", "writes"), [
        (s.name, ", ".join(f"`{f.path}`" for f in s.inputs) or "(sources)",
         ", ".join(f"`{f.path}`" for f in s.outputs))
        for s in stages.STAGES])
    L += ["", "## Labels", "",
          f"Labels are {_code(vocab.LABELS)} everywhere. Paper Table 1 regroups the "
          "Image Emotion database's emotions:", ""]
    L += table(("emotion", "label"), sorted(vocab.TABLE1.items()))
    L += ["", f"Segments are mono, {vocab.SAMPLE_RATE:,} Hz, exactly "
          f"{vocab.SEGMENT_SAMPLES:,} samples ({vocab.SEGMENT_SECONDS} s); "
          "`segment_id = <track_id>_<k>` with k from 0 in three digits.", "",
          "## Status words", ""]
    for title, words in (("search/matches.csv", vocab.SEARCH_STATUSES),
                         ("search/matches.csv` reasons of `no_match` (the word before the "
                          "reason's first colon", vocab.SEARCH_REASONS),
                         ("download/ledger.csv", vocab.DOWNLOAD_STATUSES),
                         ("images/images.csv", vocab.IMAGE_STATUSES),
                         ("images/ledger.csv", vocab.IMAGE_FETCH_STATUSES)):
        L += [f"`{title}`" + ("):" if "(" in title else ":"), ""]
        L += table(("status", "another run may fix it", "what to do"),
                   [(f"`{s.word}`", "yes" if s.retryable else "no", s.advice)
                    for s in words.values()])
        L.append("")
    return "\n".join(L)


def configuration_page() -> str:
    """``docs/configuration.md``: every pipeline-file key with its type and default."""
    L = ["# Pipeline configuration", "",
         "<!-- generated from imac_builder/config.py by scripts/gen_docs.py: do not edit by "
         "hand -->", "",
         "A pipeline file is TOML with one table per command. `imac-build --config FILE "
         "COMMAND ...` takes each option's default from the file, and an option given on "
         "the command line wins; from Python, "
         "`imac_builder.config.load_pipeline(\"pipelines/paper.toml\")` gives each stage's "
         "configuration dataclass. A table or key that names no command or option is "
         "refused with one line, and so is a value out of range. A single value where a "
         "list is expected is a list of one (`lastfm = \"x.db\"` is `lastfm = [\"x.db\"]`).",
         "",
         "The keys below are each stage's configuration: the stage records their hash in "
         "`workdir.json`, and `imac-build --config FILE status` reports a stage whose "
         "configuration changed as stale (except a setting of how it runs: workers, "
         "device, pace, marked below). A table may also hold the command's other "
         "options (input paths such as `lastfm`, `metadata`, `api_key_file`, `cookies`), "
         "named as the option with `_` for `-`; see [commands.md](commands.md). "
         "`pipelines/paper.toml` holds the paper's settings.", ""]
    for name, cls in config.CONFIGS.items():
        L += [f"## [{name}]", ""]
        rows = []
        for f in fields(cls):
            kind = config.field_type(cls, f.name).__name__
            kind = "list" if kind == "tuple" else ("path" if f.metadata.get("path") else kind)
            rows.append((f"`{f.name}`", kind, _code(config.field_default(f)),
                         config.bounds_text(f), f"`{config.flag_of(f)}`",
                         f.metadata.get("help", "") + (" *(How it runs: changing it leaves "
                                                       "the stage done.)*"
                                                       if f.metadata.get("how") else "")))
        L += table(("key", "type", "default", "allowed", "option", "meaning"), rows)
        L.append("")
    return "\n".join(L)

"""``run_release``: a work directory to a versioned, checksummed manifest folder."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import atomic
from ..config import ReleaseConfig
from ..errors import UserError
from ..subset import for_release as subset_record
from ..workdir import Workdir, update_state
from .checks import Scrubber, leaks
from .croissant import croissant
from .diff import diff_manifests
from .manifest import (
    CROISSANT_JSON,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST_JSON,
    NAME,
    TABLES,
    Manifest,
    build_tables,
    croissant_digest,
)
from .provenance import (
    SPLIT_KEYS,
    config_hash,
    pipeline_config,
    sha256_file,
    store_info,
    versions,
)
from .semver import choose_version, fmt, parse_version, released

log = logging.getLogger(__name__)

#: The folder of a release's spreadsheet-safe copy (``--csv-safe``), not part of the data.
SPREADSHEET = "spreadsheet"
DESCRIPTION = ("IMAC-style image-music affective correspondence data as a manifest: MSD "
               "songs labelled from Last.fm emotion tags, the videos their audio comes from "
               "with 60 s segment offsets and checksums of the decoded samples, Image "
               "Emotion database images, and the train/val/test split. Audio is not "
               "redistributed: rebuild it from the video ids with `imac-build rebuild`.")


@dataclass
class ReleaseSummary:
    name: str = ""
    version: str = ""
    previous: str = ""
    change: str = ""
    why: str = ""
    folder: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    missing: int = 0
    config_hash: str = ""
    redacted: list[str] = field(default_factory=list)
    hf: str = ""
    #: Cells a spreadsheet would run as formulas ("songs.csv row 3 title '=...'").
    formulas: list[str] = field(default_factory=list)
    spreadsheet: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        since = (f"{self.change} change since {self.previous} ({self.why})" if self.previous
                 else "first release")
        c = self.counts
        out = [f"released {self.name} {self.version}: {since}",
               f"{c.get('songs', 0)} songs, {c.get('segments', 0)} segments, "
               f"{c.get('images', 0)} images, {c.get('splits', 0)} split assignments; "
               f"{self.missing} items missing (status.csv says why)",
               f"configuration hash {self.config_hash[:16]}"]
        if self.redacted:
            out.append(f"left out of the published configuration: {', '.join(self.redacted)}")
        out += formula_lines(self.formulas, self.spreadsheet)
        out.append(f"wrote {self.folder}")
        if self.hf:
            out.append(f"wrote {self.hf} (Hugging Face datasets: load_dataset(\"{self.hf}\", "
                       "\"segments\"), or load_dataset(\"parquet\", data_files=...))")
        return out


#: What ``release --format`` writes: the manifest alone, or with a Hugging Face folder.
FORMATS = ("manifest", "hf")


def formula_lines(formulas: list[str], spreadsheet: str = "") -> list[str]:
    """Say that cells would be formulas in a spreadsheet (the data keep them)."""
    if not formulas:
        return []
    how = (f"a copy with them quoted for spreadsheets is in {spreadsheet}" if spreadsheet
           else "the tables keep them as they are; `release --csv-safe` also writes a copy "
                "with them quoted for spreadsheets")
    return [f"{len(formulas)} cells start like a spreadsheet formula (=, +, -, @, tab, CR; "
            f"first: {formulas[0]}): {how}"]


def find_formulas(folder: Path) -> list[str]:
    """Every formula-like cell of a release's tables, as ``file row N column 'value'``."""
    from ..tables import formula_cells

    return [f"{t.file} row {i} {col} {v[:40]!r}" for t in TABLES.values()
            if (folder / t.file).is_file() for i, col, v in formula_cells(folder / t.file)]


def default_out() -> Path:
    """The project's ``manifests/`` folder: the current directory's."""
    return Path.cwd() / "manifests"


def run_release(workdir: Workdir | Path, *, config: ReleaseConfig | None = None,
                version: str | None = None, out: Path | None = None,
                pipeline: dict[str, Any] | None = None, csv_safe: bool = False,
                format: str = "manifest", progress: bool = True) -> ReleaseSummary:
    """Write ``<out>/<name>-<version>/``; refuse understated or already released versions.

    ``pipeline`` is the pipeline configuration (the ``--config`` TOML tables) recorded
    with the release after secrets and local paths are removed. Cells a spreadsheet
    would run as formulas are reported; ``csv_safe`` also writes ``spreadsheet/``, a copy
    of the tables with them quoted (the data are never altered). ``format`` ``hf`` also
    writes the release as a Hugging Face ``datasets`` folder, ``hf/`` (:mod:`.hf`).
    """
    if format not in FORMATS:
        raise UserError(f"--format {format!r}: choose {', '.join(FORMATS)}")
    config = config or ReleaseConfig()
    name, url, license_url = config.name, config.url, config.license_url
    wd = workdir if isinstance(workdir, Workdir) else Workdir(Path(workdir))
    if not NAME.fullmatch(name or ""):
        raise UserError(f"--name {name!r}: use letters, digits, '-' and '_' only")
    if version is not None:
        parse_version(version, "--version")
    out = Path(out) if out is not None else default_out()
    # the work directory records the release once it is published: a directory that
    # cannot be written fails here, before a version is taken that a rerun would skip
    update_state(wd.root)
    scrub = Scrubber([wd.root, out])
    tables, split = build_tables(wd, scrub)
    stores = {}
    for modality in ("music", "images"):
        p = wd.root / "features" / f"{modality}.h5"
        if p.is_file():
            stores[modality] = store_info(p)
    config, redacted = pipeline_config(pipeline, stores, split, scrub)
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    vers = versions()
    vers["weights_sha256"] = stores.get("images", {}).get("weights_sha256", "")

    history = released(out, name)
    previous = max(history) if history else None
    summary = ReleaseSummary(name=name, previous=fmt(previous) if previous else "")
    meta: dict[str, Any] = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "name": name,
        "created": created, "versions": vers, "config": config,
        "config_hash": config_hash(config), "redacted_config_keys": redacted,
        "feature_stores": {m: {k: v for k, v in s.items() if k != "config"}
                           for m, s in stores.items()},
        "split": {k: split[k] for k in SPLIT_KEYS if k in split},
        "counts": {n: len(rows) for n, rows in tables.items()},
        "segment_path": "audio/<track_id>/<segment_id>.flac",
    }
    chosen = subset_record(wd.root)  # the songs search and download kept to, if chosen
    if chosen is not None:
        meta["subset"] = chosen
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", suffix=".tmp", dir=out))
    try:
        files = {}
        for t in TABLES.values():
            atomic.write_csv(tmp / t.file, t.columns,
                             ([r[c] for c in t.columns] for r in tables[t.name]))
            files[t.file] = {"sha256": sha256_file(tmp / t.file), "rows": len(tables[t.name]),
                             "bytes": (tmp / t.file).stat().st_size}
        # read the tables back as a collaborator will (same checks), and compare them
        # with the previous release
        provisional = {**meta, "version": fmt(previous or (0, 0, 0)), "files": files}
        atomic.write_text(tmp / MANIFEST_JSON, json.dumps(provisional, default=str))
        mine = Manifest.load(tmp)
        level, why = "initial", "first release"
        if previous is not None:
            d = diff_manifests(Manifest.load(history[previous]), mine)
            level, why = d.level, d.why()
        chosen = choose_version(version, previous, level, why)
        target = out / f"{name}-{chosen}"
        if target.exists():
            raise UserError(f"{target} already exists: a released version is never "
                            "overwritten; choose a newer --version")
        checksums = {f: v["sha256"] for f, v in files.items()}
        checksums[MANIFEST_JSON] = ""  # known once the manifest holds croissant's digest
        doc = croissant(name, chosen, created, DESCRIPTION, checksums, url, license_url)
        meta.update(version=chosen, previous=summary.previous or None, change=level,
                    files=files, croissant_sha256=croissant_digest(doc))
        if format == "hf":  # beside the manifest, not listed in files: verify ignores it
            from .hf import FOLDER, write_hf

            meta["hf"] = {"folder": FOLDER, **write_hf(
                tmp, wd.root, tables, name, chosen, license_url, DESCRIPTION)}
        atomic.write_text(tmp / MANIFEST_JSON,
                          json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n")
        for d in doc["distribution"]:
            if d["name"] == MANIFEST_JSON:
                d["sha256"] = sha256_file(tmp / MANIFEST_JSON)
        atomic.write_text(tmp / CROISSANT_JSON, json.dumps(doc, indent=2) + "\n")
        Manifest.load(tmp)  # the published pair checks out as verify will check it
        formulas = find_formulas(tmp)
        _refuse_leaks(tmp, scrub)
        for p in tmp.rglob("*"):
            p.chmod(0o755 if p.is_dir() else 0o644)  # for sharing (temporaries are private)
        tmp.chmod(0o755)
        if csv_safe and formulas:  # a copy for spreadsheets, beside the data (not in it)
            from ..tables import write_csv_safe

            for t in TABLES.values():
                write_csv_safe(tmp / t.file, tmp / SPREADSHEET / t.file)
        try:  # checked by the kernel at the rename: another release may have won since
            atomic.rename_noreplace(tmp, target)
        except FileExistsError:
            raise UserError(f"{target} was released by another run meanwhile: a released "
                            "version is never overwritten; choose a newer --version") from None
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if e.filename is None:  # a write that failed (disk full): the folder is --out's
            raise OSError(e.errno, e.strerror, f"--out {out}") from None
        raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    # status finds the release wherever --out put it
    update_state(wd.root, releases={f"{name}-{chosen}": str(Path(target).resolve())})
    summary.version, summary.change, summary.why = chosen, level, why
    summary.folder = str(target)
    summary.hf = str(target / "hf") if format == "hf" else ""
    summary.counts = dict(meta["counts"])
    summary.missing = len(tables["status"])
    summary.config_hash = meta["config_hash"]
    summary.redacted = redacted
    summary.formulas = formulas
    summary.spreadsheet = str(target / SPREADSHEET) if csv_safe and formulas else ""
    log.info("release: %s", "; ".join(summary.lines()))
    return summary


def _refuse_leaks(folder: Path, scrub: Scrubber) -> None:
    """Last check before publishing: no key, no local path, no user name in any file."""
    for p in sorted(folder.rglob("*")):
        if p.is_dir() or p.suffix == ".parquet":  # Parquet: the checked tables, as numbers
            continue
        # CSV tables hold public metadata (titles, tags): the user name only in paths there
        found = leaks(p.read_text(encoding="utf-8"), scrub, user_as_word=p.suffix != ".csv")
        if found:
            raise UserError(f"refusing to release: {p.name} contains {', '.join(found)}; "
                            "remove it from the inputs (the configuration or reasons)")

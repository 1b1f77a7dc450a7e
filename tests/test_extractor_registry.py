"""Adding a feature extractor is one module plus one registry line
(docs/contributing.md, "Add a feature extractor"): the configuration, the CLI's
``--modality`` choices and the build path all read the registry."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from imac_builder.cli import cli  # imported before the toy is registered, as in use

TOY = '''
"""A toy extractor: each segment's index and a constant, as a 2-d matrix store."""
from imac_builder import tables
from imac_builder.features.store import write_store
from imac_builder.features.summary import ModalitySummary


def build(wd, opts):
    rows = tables.read_table(wd.root, tables.SEGMENTS)
    ids = [r["segment_id"] for r in rows]
    import numpy as np

    x = np.array([[float(r["index"]), 1.0] for r in rows], dtype=np.float32).reshape(-1, 2)
    out = wd.stage("features") / "toy.h5"
    write_store(out, x, ids, [r["label"] for r in rows], {"track_id": [r["track_id"]
                for r in rows]}, {"extractor": "toy"}, modality="toy", id_name="segment_id")
    return ModalitySummary("toy", items=len(ids), rows=len(ids), output=str(out))
'''


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """The toy module on the path, and its one registry line."""
    (tmp_path / "toy_extractor.py").write_text(textwrap.dedent(TOY))
    monkeypatch.syspath_prepend(str(tmp_path))
    from imac_builder.features import registry

    monkeypatch.setitem(registry.EXTRACTORS, "toy", "toy_extractor:build")  # the one line
    yield
    sys.modules.pop("toy_extractor", None)


def _segments(root: Path) -> None:
    from imac_builder import tables

    tables.write_table(root, tables.SEGMENTS, [
        (f"TRAAAAA128F00000{i:02d}_000", f"TRAAAAA128F00000{i:02d}", "v", 0, "0", "60",
         f"audio/x/{i}.flac", "ab", "positive") for i in range(3)])
    tables.write_table(root, tables.IMAGES, [])


def test_a_toy_extractor_is_accepted_by_config_cli_and_stage(toy, tmp_path):
    import h5py

    from imac_builder.config import FeaturesConfig
    from imac_builder.features.stage import run_features

    assert FeaturesConfig(modality="toy").modality == "toy"
    _segments(tmp_path / "w")
    s = run_features(tmp_path / "w", config=FeaturesConfig(modality="toy"), progress=False)
    assert [m.modality for m in s.modalities] == ["toy"] and s.modalities[0].rows == 3
    with h5py.File(tmp_path / "w" / "features" / "toy.h5") as f:
        assert f["features"].shape == (3, 2)
    # the command line takes the new name too (its choices are the registry's keys)
    r = CliRunner().invoke(cli, ["--workdir", str(tmp_path / "w2"), "features",
                                 "--modality", "toy"])
    assert "Invalid value" not in r.output, r.output
    help_text = CliRunner().invoke(cli, ["features", "--help"], terminal_width=200).output
    assert "toy" in help_text


def test_without_its_registry_line_the_name_is_refused(tmp_path):
    from imac_builder.config import FeaturesConfig
    from imac_builder.errors import UserError

    with pytest.raises(UserError, match="modality must be one of"):
        FeaturesConfig(modality="toy")
    r = CliRunner().invoke(cli, ["--workdir", str(tmp_path), "features", "--modality", "toy"])
    assert r.exit_code == 2 and "Invalid value for '--modality'" in r.output

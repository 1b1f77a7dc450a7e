"""The library's defaults are the configuration's: a notebook calling ``run_<stage>`` gets
what ``imac-build <stage>`` and docs/configuration.md say.

The configuration dataclasses (imac_builder/config.py) are the one documented source of
defaults (the CLI takes its defaults from them; the reference pages are generated from
them); the run functions repeat them in their signatures. This fails when one changes
without the other.
"""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from imac_builder import stages
from imac_builder.config import CONFIGS, field_default

#: Library defaults that mean the same as the configuration's: jobs None and 0 are both
#: "one per available core".
SAME = {("images", "jobs"): (None, 0)}
#: Library defaults that differ on purpose, with the reason (docs/download.md says so too).
DIFFERENT = {("download", "rate"): "the command paces downloads (240 an hour) for YouTube; "
                                   "the Python function is unpaced unless given a rate"}


def _norm(value: object) -> object:
    return tuple(value) if isinstance(value, list | tuple) else value


@pytest.mark.parametrize("stage", [s for s in stages.STAGES if s.name in CONFIGS],
                         ids=lambda s: s.name)
def test_run_function_defaults_are_the_configuration_defaults(stage):
    sig = inspect.signature(stage.function())
    match_defaults = {}
    if stage.name == "search":  # the chooser's settings travel as one MatchConfig
        from imac_builder.search.match import MatchConfig

        match_defaults = {f.name: field_default(f) for f in dataclasses.fields(MatchConfig)}
    if stage.name == "train":  # run_train(config=None) trains with TrainConfig()
        assert sig.parameters["config"].default is None
        match_defaults = {f.name: field_default(f) for f in dataclasses.fields(CONFIGS["train"])}
    checked = 0
    for f in dataclasses.fields(CONFIGS[stage.name]):
        want = field_default(f)
        if f.name in match_defaults:
            got = match_defaults[f.name]
        else:
            p = sig.parameters.get(f.name)
            assert p is not None, f"{stage.run} has no parameter {f.name}"
            if p.default is inspect.Parameter.empty:
                continue
            got = p.default
        if (stage.name, f.name) in SAME and {got, want} <= set(SAME[stage.name, f.name]):
            continue
        if (stage.name, f.name) in DIFFERENT:
            assert got != want  # still different: drop the exemption when it is not
            continue
        assert _norm(got) == _norm(want), \
            f"{stage.name}.{f.name}: library default {got!r}, configuration {want!r}"
        checked += 1
    assert checked

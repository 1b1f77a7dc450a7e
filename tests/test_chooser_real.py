"""The chooser on real titles labelled by a reader blind to the code
(tests/data/real_eval/, tests/chooser_real_eval.py; figures in docs/search.md).

The floors sit a little under the fifth measurement on this material (made after the
third measurement's misses had been read, so no longer blind; docs/search.md says so),
so that a change that costs real songs fails here. The third measurement had loosened
two floors (search-list false where absent, wrong linked singles refused); the fourth
and fifth tightened them again (false 8 -> 1 of 37, wrong singles refused 38 -> 39
of 44 and 603 -> 612 of 614, linked false 6 -> 2, linked wrong 3 -> 1; linked right
chosen and right singles 478 -> 482 and 480 -> 482). They are
below the issue's goals (right >= 95 %, false where absent <= 3 %, right single
accepted >= 90 %, wrong single refused >= 95 %) where docs/search.md says so.
"""

from __future__ import annotations

import pytest

pytest.importorskip("rapidfuzz")

import chooser_real_eval as ev  # noqa: E402
from conftest import shared_data  # noqa: E402


def test_real_search_lists() -> None:
    t = ev.search_lists()
    assert t.lists == 38 and t.absent == 37
    assert t.single_right == 150 and t.single_wrong == 614
    assert t.right >= 36, t.misses
    assert t.wrong <= 1, t.misses
    assert t.false <= 1, t.misses
    assert t.single_right_ok >= 131
    assert t.single_wrong_ok >= 612


def test_real_linked_videos_offered_alone() -> None:
    t = ev.linked(linked_csv=ev.DATA / "absent.csv")  # singles only: no shared data
    assert t.single_right == 528 and t.single_wrong == 44
    assert t.single_right_ok >= 482, t.misses
    assert t.single_wrong_ok >= 39, t.misses


def test_real_linked_videos_among_impostors() -> None:
    shared_data("spotify-youtube-linked")
    t = ev.linked()
    assert t.lists == 528
    assert t.right >= 482, t.misses
    assert t.wrong <= 1, t.misses
    assert t.false <= 2, t.misses


@pytest.mark.parametrize("part, n_right, n_wrong, right, wrong_refused", [
    ("dev", 698, 69, 640, 64),  # read (rules written from its misses): 644 / 65
    ("dev2", 716, 62, 663, 47),  # read: 667 / 48
    ("test", 524, 51, 480, 37),  # held out, measured blind: 484 / 38
    ("test2", 525, 48, 477, 38),  # held out, measured once: 481 / 39
])
def test_second_round_linked_samples_offered_alone(part: str, n_right: int, n_wrong: int,
                                                   right: int, wrong_refused: int) -> None:
    t = ev.linked(linked_csv=ev.DATA / "absent.csv", part=part)
    assert t.single_right == n_right and t.single_wrong == n_wrong
    assert t.single_right_ok >= right
    assert t.single_wrong_ok >= wrong_refused


@pytest.mark.parametrize("part, lists, right, wrong, false", [
    ("dev", 698, 639, 1, 3),  # 643 right, 1 wrong, 3 false
    ("dev2", 715, 662, 1, 3),  # 666 right, 0 wrong, 2 false
    ("test", 524, 480, 1, 2),  # 484 right, 1 wrong, 2 false
    ("test2", 525, 477, 1, 2),  # 481 right, 1 wrong, 1 false
])
def test_second_round_linked_samples_among_impostors(part: str, lists: int, right: int,
                                                     wrong: int, false: int) -> None:
    shared_data("spotify-youtube-linked")
    t = ev.linked(part=part)
    assert t.lists == lists
    assert t.right >= right
    assert t.wrong <= wrong
    assert t.false <= false

"""The chooser on real titles labelled by a reader blind to the code
(tests/data/real_eval/, tests/chooser_real_eval.py; figures in docs/search.md).

The floors sit a little under the fifth measurement on this material (made after the
third measurement's misses had been read, so no longer blind; docs/search.md says so),
so that a change that costs real songs fails here. The third measurement had loosened
two floors (search-list false where absent, wrong linked singles refused); the fourth
and fifth tightened them again (false 8 -> 1 of 37, wrong singles refused 38 -> 39
of 44 and 603 -> 612 of 614, linked false 6 -> 2, linked wrong 3 -> 1; linked right
chosen and right singles 478 -> 482 and 480 -> 482); the sixth (session 5: dev3 read,
test demoted to a read part, test2 and test3 held out) raised the search lists' right
singles 134 -> 139 of 150 and right chosen 37 -> 38 of 38. They are
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
    assert t.right >= 37, t.misses
    assert t.wrong <= 1, t.misses
    assert t.false <= 1, t.misses
    assert t.single_right_ok >= 138
    assert t.single_wrong_ok >= 612


def test_real_linked_videos_offered_alone() -> None:
    t = ev.linked(linked_csv=ev.DATA / "absent.csv")  # singles only: no shared data
    assert t.single_right == 528 and t.single_wrong == 44
    assert t.single_right_ok >= 485, t.misses
    assert t.single_wrong_ok >= 40, t.misses


def test_real_linked_videos_among_impostors() -> None:
    shared_data("spotify-youtube-linked")
    t = ev.linked()
    assert t.lists == 528
    assert t.right >= 485, t.misses
    assert t.wrong <= 1, t.misses
    assert t.false <= 2, t.misses


@pytest.mark.parametrize("part, n_right, n_wrong, right, wrong_refused", [
    ("dev", 698, 69, 641, 64),  # read (rules written from its misses): 645 / 65
    ("dev2", 716, 62, 667, 48),  # read: 671 / 49
    ("dev3", 987, 83, 912, 66),  # read (session 5): 916 / 68
    ("test", 524, 51, 480, 38),  # measured blind in session 4, read in session 5: 484 / 39
    ("test2", 525, 48, 475, 38),  # held out, never read: 479 / 39
    ("test3", 530, 51, 475, 41),  # held out, never read (session 5): 479 / 42
])
def test_second_round_linked_samples_offered_alone(part: str, n_right: int, n_wrong: int,
                                                   right: int, wrong_refused: int) -> None:
    t = ev.linked(linked_csv=ev.DATA / "absent.csv", part=part)
    assert t.single_right == n_right and t.single_wrong == n_wrong
    assert t.single_right_ok >= right
    assert t.single_wrong_ok >= wrong_refused


@pytest.mark.parametrize("part, lists, right, wrong, false", [
    ("dev", 698, 641, 1, 3),  # 645 right, 0 wrong, 2 false
    ("dev2", 715, 666, 1, 2),  # 670 right, 0 wrong, 1 false
    ("dev3", 987, 912, 1, 3),  # 916 right, 0 wrong, 2 false
    ("test", 524, 480, 1, 3),  # 484 right, 1 wrong, 2 false
    ("test2", 525, 475, 1, 2),  # 479 right, 0 wrong, 1 false
    ("test3", 529, 474, 1, 2),  # 478 right, 0 wrong, 0 false
])
def test_second_round_linked_samples_among_impostors(part: str, lists: int, right: int,
                                                     wrong: int, false: int) -> None:
    shared_data("spotify-youtube-linked")
    t = ev.linked(part=part)
    assert t.lists == lists
    assert t.right >= right
    assert t.wrong <= wrong
    assert t.false <= false

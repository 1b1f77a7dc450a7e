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
singles 134 -> 139 of 150 and right chosen 37 -> 38 of 38; the seventh (session 6:
test4 held out, 958 rows) raised the read parts' right singles by 4-20 each. They are
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
    assert t.single_right_ok >= 486, t.misses
    assert t.single_wrong_ok >= 40, t.misses


def test_real_linked_videos_among_impostors() -> None:
    shared_data("spotify-youtube-linked")
    t = ev.linked()
    assert t.lists == 528
    assert t.right >= 486, t.misses
    assert t.wrong <= 1, t.misses
    assert t.false <= 2, t.misses


@pytest.mark.parametrize("part, n_right, n_wrong, right, wrong_refused", [
    ("dev", 698, 69, 655, 64),  # read (rules written from its misses): 659 / 65
    ("dev2", 716, 62, 674, 47),  # read: 678 / 48
    ("dev3", 987, 83, 922, 67),  # read (session 5): 926 / 68
    ("test", 524, 51, 481, 39),  # measured blind in session 4, read in session 5: 485 / 40
    ("test2", 525, 48, 478, 38),  # held out, never read: 482 / 39
    ("test3", 530, 51, 477, 41),  # held out, never read (session 5): 481 / 42
    ("test4", 839, 89, 756, 73),  # held out, never read (session 6): 760 / 74
])
def test_second_round_linked_samples_offered_alone(part: str, n_right: int, n_wrong: int,
                                                   right: int, wrong_refused: int) -> None:
    t = ev.linked(linked_csv=ev.DATA / "absent.csv", part=part)
    assert t.single_right == n_right and t.single_wrong == n_wrong
    assert t.single_right_ok >= right
    assert t.single_wrong_ok >= wrong_refused


@pytest.mark.parametrize("part, lists, right, wrong, false", [
    ("dev", 698, 655, 1, 3),  # 659 right, 0 wrong, 2 false
    ("dev2", 715, 673, 1, 2),  # 677 right, 0 wrong, 1 false
    ("dev3", 987, 922, 1, 3),  # 926 right, 0 wrong, 2 false
    ("test", 524, 481, 1, 3),  # 485 right, 1 wrong, 2 false
    ("test2", 525, 478, 1, 2),  # 482 right, 0 wrong, 1 false
    ("test3", 529, 476, 1, 2),  # 480 right, 0 wrong, 0 false
    ("test4", 838, 755, 2, 2),  # 759 right, 1 wrong, 1 false
])
def test_second_round_linked_samples_among_impostors(part: str, lists: int, right: int,
                                                     wrong: int, false: int) -> None:
    shared_data("spotify-youtube-linked")
    t = ev.linked(part=part)
    assert t.lists == lists
    assert t.right >= right
    assert t.wrong <= wrong
    assert t.false <= false


def test_rows_two_blind_readers_agree_on() -> None:
    """The second reading (linked_audit_*): the chooser on the rows both readers label
    alike (floors a little under session 6's 150/177, 166/176, 254/294, 282/304)."""
    a = ev.audit()
    assert a["held out", "no"].single_wrong == 177 and a["held out", "yes"].single_right == 176
    assert a["read", "no"].single_wrong == 294 and a["read", "yes"].single_right == 304
    assert a["held out", "no"].single_wrong_ok >= 148
    assert a["held out", "yes"].single_right_ok >= 163
    assert a["read", "no"].single_wrong_ok >= 251
    assert a["read", "yes"].single_right_ok >= 278

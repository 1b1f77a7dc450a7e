"""The ledger of YouTube Data API units spent per Pacific-time day (``search/quota.json``).

The API's daily quota resets at midnight Pacific time. The ledger lets a run stop before
it would exceed the configured budget, and remembers a day on which the server answered
``quotaExceeded`` so that later runs that day stop at once instead of asking again.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .. import atomic, guard
from ..errors import UserError

log = logging.getLogger(__name__)

PACIFIC_NAME = "America/Los_Angeles"
#: Units each API method costs (YouTube Data API v3 quota calculator).
COSTS = {"search.list": 100, "videos.list": 1}
DEFAULT_DAILY_QUOTA = 10_000


@lru_cache(maxsize=1)
def pacific() -> ZoneInfo:
    """Pacific time, from the system's time-zone database or the ``tzdata`` package."""
    try:
        return ZoneInfo(PACIFIC_NAME)
    except ZoneInfoNotFoundError:
        raise UserError("no time-zone database for America/Los_Angeles: install the "
                        "system's tzdata or `pip install tzdata`") from None


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class QuotaLedger:
    """Units spent per Pacific day, with a daily budget; saved atomically on every change."""

    path: Path
    daily_quota: int = DEFAULT_DAILY_QUOTA
    clock: Callable[[], datetime] = utcnow
    days: dict[str, dict] = field(default_factory=dict)
    #: The budget the file was saved with (``status`` plans with it), if any.
    recorded_quota: int | None = None

    @classmethod
    def load(cls, path: Path, daily_quota: int = DEFAULT_DAILY_QUOTA,
             clock: Callable[[], datetime] = utcnow) -> QuotaLedger:
        days: dict[str, dict] = {}
        recorded = None
        guard.check_not_link(path)
        if os.path.lexists(path):
            what = "a quota ledger (move it away to start a new one)"
            doc = guard.json_object(path, what, nofollow=True)
            try:
                days = {str(k): dict(v) for k, v in doc.get("days", {}).items()}
            except (ValueError, AttributeError, TypeError):
                raise UserError(f"{path} is not {what}: 'days' is not a table of days"
                                ) from None
            for day, rec in days.items():  # "lots", NaN, 1e999: one line, not a crash
                rec["units"] = guard.finite(rec.get("units", 0), f"{path}: units of {day}",
                                            lo=0, integer=True)
                if not isinstance(rec.get("calls", {}), dict):
                    raise UserError(f"{path}: calls of {day} is not a table: it is not {what}")
            if "daily_quota" in doc:
                recorded = guard.finite(doc["daily_quota"], f"{path}: daily_quota", lo=0,
                                        hi=1e12, integer=True)
        return cls(Path(path), int(daily_quota), clock, days, recorded)

    def _now_pacific(self) -> datetime:
        return self.clock().astimezone(pacific())

    @property
    def today(self) -> str:
        return self._now_pacific().date().isoformat()

    def _day(self) -> dict:
        return self.days.setdefault(self.today, {"units": 0, "calls": {},
                                                 "quota_exceeded_at": None})

    @property
    def spent_today(self) -> int:
        return int(self.days.get(self.today, {}).get("units", 0))

    @property
    def left(self) -> int:
        if self.exhausted_today:
            return 0
        return max(0, self.daily_quota - self.spent_today)

    @property
    def exhausted_today(self) -> bool:
        return bool(self.days.get(self.today, {}).get("quota_exceeded_at"))

    def can_spend(self, units: int) -> bool:
        return units <= self.left

    def spend(self, method: str, units: int | None = None) -> None:
        """Record one successful call of ``method``."""
        day = self._day()
        day["units"] = int(day.get("units", 0)) + (COSTS[method] if units is None else units)
        calls = day.setdefault("calls", {})
        calls[method] = int(calls.get(method, 0)) + 1
        self.save()

    def mark_exhausted(self) -> None:
        """The server said ``quotaExceeded``: nothing more today."""
        self._day()["quota_exceeded_at"] = self.clock().astimezone(UTC).isoformat(
            timespec="seconds")
        self.save()

    def reset_at(self) -> datetime:
        """The next midnight in Pacific time, when the quota resets."""
        now = self._now_pacific()
        nxt = (now + timedelta(days=1)).date()
        return datetime(nxt.year, nxt.month, nxt.day, tzinfo=pacific())

    def reset_text(self) -> str:
        r = self.reset_at()
        return (f"{r.strftime('%Y-%m-%d %H:%M %Z')} "
                f"({r.astimezone(UTC).strftime('%Y-%m-%d %H:%M')} UTC)")

    def to_dict(self) -> dict:
        return {"timezone": PACIFIC_NAME, "daily_quota": self.daily_quota,
                "costs": COSTS, "today": self.today, "spent_today": self.spent_today,
                "left_today": self.left, "resets_at": self.reset_at().isoformat(),
                "days": dict(sorted(self.days.items()))}

    def save(self) -> None:
        guard.check_not_link(self.path)  # never replace a link planted in the work directory
        atomic.write_text(self.path, json.dumps(self.to_dict(), indent=2, sort_keys=True)
                          + "\n")

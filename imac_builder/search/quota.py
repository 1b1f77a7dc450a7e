"""The ledger of YouTube Data API units spent per Pacific-time day (``search/quota.json``).

The API's daily quota resets at midnight Pacific time. The ledger lets a run stop before
it would exceed the configured budget, and remembers a day on which the server answered
``quotaExceeded`` so that later runs that day stop at once instead of asking again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .. import atomic
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

    @classmethod
    def load(cls, path: Path, daily_quota: int = DEFAULT_DAILY_QUOTA,
             clock: Callable[[], datetime] = utcnow) -> QuotaLedger:
        days: dict[str, dict] = {}
        if path.exists():
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
                days = {str(k): dict(v) for k, v in doc.get("days", {}).items()}
            except (ValueError, AttributeError, TypeError):
                raise UserError(f"{path} is not a quota ledger (JSON with 'days'); "
                                "move it away to start a new ledger") from None
        return cls(Path(path), int(daily_quota), clock, days)

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
        atomic.write_text(self.path, json.dumps(self.to_dict(), indent=2, sort_keys=True)
                          + "\n")

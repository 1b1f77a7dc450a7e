"""What one feature store's build did (shared by every extractor)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ModalitySummary:
    """What one modality's run did."""

    modality: str
    items: int = 0
    shards: int = 0
    shards_reused: int = 0
    shards_run: int = 0
    shards_failed: int = 0
    rows: int = 0
    failed: int = 0
    failed_reasons: dict[str, int] = field(default_factory=dict)
    unchanged: bool = False
    seconds: float = 0.0
    output: str = ""
    config_hash: str = ""

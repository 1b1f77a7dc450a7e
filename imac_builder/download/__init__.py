"""The ``download`` stage: matched videos to exact 60 s FLAC segments (spec §3)."""

from ..vocab import SAMPLE_RATE, SEGMENT_SAMPLES
from .classify import ADVICE, PERMANENT, RETRYABLE, STATUSES, Failure, classify, retry_class
from .decode import decode_mono, pcm_sha256, split_segments
from .ledger import LEDGER_COLUMNS, SEGMENT_COLUMNS, Ledger, LedgerRow, SegmentRow
from .ratelimit import RateGate
from .stage import DownloadSummary, run_download

__all__ = [
    "ADVICE",
    "LEDGER_COLUMNS",
    "PERMANENT",
    "RETRYABLE",
    "SAMPLE_RATE",
    "SEGMENT_COLUMNS",
    "SEGMENT_SAMPLES",
    "STATUSES",
    "DownloadSummary",
    "Failure",
    "Ledger",
    "LedgerRow",
    "RateGate",
    "SegmentRow",
    "classify",
    "decode_mono",
    "pcm_sha256",
    "retry_class",
    "run_download",
    "split_segments",
]

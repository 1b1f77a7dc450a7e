"""What the download stage did (its summary), apart from the stage so that the modules
the stage uses can name it without an import circle."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class DownloadSummary:
    """What the stage did, for the CLI, the logs and a notebook."""

    matched: int = 0
    invalid_rows: int = 0
    already_done: int = 0
    failed_before: int = 0
    retryable_before: int = 0
    to_do: int = 0
    attempted: int = 0
    ok: int = 0
    segments_written: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    bytes_downloaded: int = 0
    not_attempted: int = 0
    rate_limit_pauses: int = 0
    rate: float = 0.0
    paced_seconds: float = 0.0
    stopped: str = ""
    songs_ok_total: int = 0
    segments_total: int = 0
    seconds: float = 0.0
    js_runtime: str = ""
    notes: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        failed = sum(self.failures.values())
        out = [f"{self.matched} matched songs: {self.already_done} already downloaded, "
               f"{self.failed_before} failed before, {self.to_do} to do"]
        if self.invalid_rows:
            out.append(f"skipped {self.invalid_rows} rows of search/matches.csv with an "
                       "invalid track or video id (see logs/imac-build.log)")
        why = ", ".join(f"{n} {s}" for s, n in sorted(self.failures.items()))
        out.append(f"attempted {self.attempted}: {self.ok} ok ({self.segments_written} "
                   f"segments), {failed} failed{f' ({why})' if why else ''}; "
                   f"{self.bytes_downloaded / 1e6:.1f} MB downloaded in {self.seconds:.0f} s")
        if self.rate:
            out.append(f"paced at {self.rate:g} videos an hour across all workers "
                       f"({self.paced_seconds:.0f} s of waiting)")
        if self.rate_limit_pauses:
            out.append(f"paused {self.rate_limit_pauses} times for rate limiting")
        if self.stopped:
            out.append(f"stopped early: {self.stopped}")
        if self.not_attempted:
            out.append(f"{self.not_attempted} songs left for the next run")
        if self.retryable_before:
            out.append(f"{self.retryable_before} earlier failures can be retried with "
                       "--retry-failed")
        out.append(f"in all {self.songs_ok_total} songs, {self.segments_total} segments")
        out += self.notes
        out += [f"wrote {p}" for p in self.outputs]
        return out

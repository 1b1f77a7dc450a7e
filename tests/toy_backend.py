"""A toy search backend for the registry test: one module, one registry line."""

from __future__ import annotations

from imac_builder.search.match import Candidate
from imac_builder.search.registry import BackendContext


class ToyBackend:
    """Answers every query with one canned upload named after it."""

    name = "toy"
    uses_quota = False

    def __init__(self, results: int):
        self.results = results
        self.queries: list[str] = []

    def search(self, query: str) -> list[Candidate]:
        self.queries.append(query)
        return [Candidate("toyvideo001", f"{query} (Official Audio)", "Toy Channel", None, 0,
                          "https://www.youtube.com/watch?v=toyvideo001")]

    def units_per_search(self) -> int:
        return 0

    def close(self) -> None:
        pass


def make(ctx: BackendContext) -> ToyBackend:
    return ToyBackend(ctx.results)

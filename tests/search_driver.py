"""Run the search stage (api backend) in a process of its own against a mock YouTube API.

``python tests/search_driver.py WORKDIR HITS_LOG DELAY``: google-api-python-client talks
to :class:`QueryMock`, an ``HttpMockSequence`` answering each request from its query (so a
rerun after a kill gets the same answers), after ``DELAY`` seconds, and appending the
query to ``HITS_LOG`` (one line a request) so a test can count what was asked twice.
The API key comes from ``$YOUTUBE_API_KEY``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httplib2
from googleapiclient.http import HttpMockSequence

from imac_builder.config import SearchConfig

DAY = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)


def video_id(query: str, k: int) -> str:
    return hashlib.sha256(f"{query}/{k}".encode()).hexdigest()[:11]


def search_body(query: str) -> str:
    """Three candidates; the second is the song itself on the artist's Topic channel."""
    artist, _, title = query.partition(" ")
    items = [(video_id(query, 0), f"{query} (Live)", "Fan"),
             (video_id(query, 1), title, f"{artist} - Topic"),
             (video_id(query, 2), f"{query} karaoke", "Karaoke King")]
    return json.dumps({"kind": "youtube#searchListResponse", "items": [
        {"kind": "youtube#searchResult", "id": {"kind": "youtube#video", "videoId": v},
         "snippet": {"title": t, "channelTitle": ch, "description": "",
                     "publishedAt": "2009-10-25T06:57:33Z", "channelId": "UC" + "x" * 22}}
        for v, t, ch in items], "pageInfo": {"totalResults": 3, "resultsPerPage": 3}})


def videos_body(ids: list[str]) -> str:
    return json.dumps({"kind": "youtube#videoListResponse", "items": [
        {"kind": "youtube#video", "id": v, "contentDetails": {"duration": "PT3M52S"}}
        for v in ids]})


class QueryMock(HttpMockSequence):
    """Answers search.list and videos.list from the request itself."""

    def __init__(self, hits_log: Path, delay: float) -> None:
        super().__init__([])
        self.hits_log = hits_log
        self.delay = delay

    def request(self, uri, method="GET", body=None, headers=None, redirections=1,
                connection_type=None):
        self.request_sequence.append((uri, method, body, headers))
        q = parse_qs(body if method == "POST" and isinstance(body, str)
                     else urlparse(uri).query)
        time.sleep(self.delay)
        if "/search" in uri:
            query = q["q"][0]
            fd = os.open(self.hits_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.write(fd, (json.dumps(query) + "\n").encode())
            os.close(fd)
            content = search_body(query)
        else:
            content = videos_body(q["id"][0].split(","))
        return httplib2.Response({"status": "200"}), content.encode()


def main() -> None:
    from imac_builder.search.stage import run_search
    from imac_builder.workdir import Workdir

    wd, hits, delay = Workdir(Path(sys.argv[1])), Path(sys.argv[2]), float(sys.argv[3])
    with wd.lock("search (test driver)"):
        run_search(wd, _http=QueryMock(hits, delay), _clock=lambda: DAY, progress=False,
                   config=SearchConfig(results=3))


if __name__ == "__main__":
    main()

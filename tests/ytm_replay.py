"""Replaying recorded YouTube Music responses to ``ytmusicapi`` (no network).

A ``requests.Session`` with a mounted :class:`ReplayAdapter` answers the library's
requests from stored JSON: the search endpoint by the query it is asked, its continuation
by the token, and the home page (the visitor id) by a minimal page. ytmusicapi's own
parsers then read the real response shapes.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

import requests
from requests.adapters import BaseAdapter

_HOME = '<html><script>ytcfg.set({"VISITOR_DATA": "replayed"});</script></html>'


class ReplayAdapter(BaseAdapter):
    """Answers ``POST .../search`` from ``responses[(query, params)]`` (query ``"*"``:
    any query) or ``continuations[ctoken]``; any other request is a 404 (never the
    network)."""

    def __init__(self, responses: dict[tuple[str, str], dict] | None = None,
                 continuations: dict[str, dict] | None = None):
        super().__init__()
        self.responses = dict(responses or {})
        self.continuations = dict(continuations or {})
        self.asked: list[tuple[str, str]] = []

    def send(self, request, **kwargs):  # noqa: ANN001, ANN003, ANN201
        url = urlparse(request.url)
        status, text = 404, '{"error": {"message": "not recorded"}}'
        if request.method == "GET" and url.path in ("", "/"):
            status, text = 200, _HOME
        elif request.method == "POST" and url.path.endswith("/search"):
            qs = parse_qs(url.query)
            token = (qs.get("ctoken") or qs.get("continuation") or [""])[0]
            body = json.loads(request.body or b"{}")
            key = (body.get("query", ""), body.get("params", ""))
            self.asked.append(key if not token else ("ctoken", token))
            found = (self.continuations.get(token) if token else
                     self.responses.get(key, self.responses.get(("*", key[1]))))
            if found is not None:
                status, text = 200, json.dumps(found)
        resp = requests.Response()
        resp.status_code = status
        resp.reason = "OK" if status == 200 else "Not Found"
        resp._content = text.encode("utf-8")
        resp.encoding = "utf-8"
        resp.headers["Content-Type"] = "application/json"
        resp.url = request.url
        resp.request = request
        return resp

    def close(self) -> None:
        pass


def replay_session(adapter: ReplayAdapter) -> requests.Session:
    """A session that sends every http(s) request to ``adapter``."""
    s = requests.Session()
    s.mount("https://", adapter)
    s.mount("http://", adapter)
    return s

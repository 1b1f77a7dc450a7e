"""What users of yt-dlp pass to it, shared by the download stage and the search backend.

``--js-runtime NAME[:PATH]``, ``--cookies-from-browser BROWSER[+KEYRING][:PROFILE]`` and
``--extractor-args IE_KEY:ARGS`` mean what they mean to yt-dlp: they are parsed by
yt-dlp's own option parser. The JavaScript runtime YouTube extraction needs (since
yt-dlp 2025.11.12) is found here and handed to yt-dlp by its full path, so that it is
used whatever ``PATH`` says; by default it is the Deno binary of the ``deno`` package
installed beside yt-dlp.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UserError

log = logging.getLogger(__name__)

#: Runtimes yt-dlp can use, and the program each one runs.
RUNTIMES = {"deno": "deno", "node": "node", "bun": "bun", "quickjs": "qjs"}
#: Set to 1 to pretend no JavaScript runtime is installed (to check what doctor says).
HIDE_ENV = "IMAC_HIDE_JS_RUNTIME"


@dataclass(frozen=True)
class JsRuntime:
    """A JavaScript runtime for yt-dlp: its name, the program's path, its version."""

    name: str
    path: str | None
    version: str | None = None

    @property
    def found(self) -> bool:
        """Whether the program exists and answered ``--version``."""
        return self.path is not None and self.version is not None

    def describe(self) -> str:
        return f"{self.name}-{self.version} ({self.path})" if self.found else \
            f"{self.name}: not found" + (f" at {self.path}" if self.path else "")


def _version(name: str, path: str) -> str | None:
    args = [path, "--help"] if name == "quickjs" else [path, "--version"]
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=20,
                             check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    text = (out.stdout or "") + (out.stderr or "")
    if name != "quickjs" and out.returncode != 0:
        return None
    m = re.search(r"(\d+(?:\.\d+)+)", text)
    return m.group(1) if m else ("unknown" if text.strip() else None)


def _bundled_deno() -> str | None:
    """The Deno binary of the ``deno`` package, when it is installed."""
    try:
        from deno import find_deno_bin
    except ImportError:
        return None
    try:
        return find_deno_bin()
    except (FileNotFoundError, OSError):
        return None


def parse_runtime(spec: str) -> tuple[str, str | None]:
    """``NAME[:PATH]`` as yt-dlp's ``--js-runtimes`` reads it."""
    name, _, path = spec.partition(":")
    name = name.strip().lower()
    if name not in RUNTIMES:
        raise UserError(f"--js-runtime {spec!r}: the runtime must be one of "
                        f"{', '.join(RUNTIMES)} (NAME or NAME:PATH)")
    return name, (path or None)


def find_js_runtime(spec: str | None = None) -> JsRuntime:
    """The runtime ``spec`` names (default: Deno), with its path and version if found.

    With the environment variable ``IMAC_HIDE_JS_RUNTIME=1`` none is found.
    """
    name, path = parse_runtime(spec) if spec else ("deno", None)
    if os.environ.get(HIDE_ENV, "") not in ("", "0"):
        return JsRuntime(name, None)
    if path is not None:
        p = Path(path).expanduser()
        if p.is_dir():
            p = p / RUNTIMES[name]
        resolved = str(p) if p.is_file() else shutil.which(path)
        return JsRuntime(name, resolved or str(p), _version(name, resolved) if resolved
                         else None)
    found = (_bundled_deno() if name == "deno" else None) or shutil.which(RUNTIMES[name])
    return JsRuntime(name, found, _version(name, found) if found else None)


@dataclass(frozen=True)
class YtdlpAccess:
    """How yt-dlp reaches YouTube: JS runtime, browser cookies, extractor arguments."""

    js_runtime: str | None = None
    cookies_from_browser: str | None = None
    extractor_args: tuple[str, ...] = ()

    def params(self, runtime: JsRuntime | None = None) -> dict[str, Any]:
        """``YoutubeDL`` parameters (``js_runtimes``, ``cookiesfrombrowser``,
        ``extractor_args``), parsed by yt-dlp's own option parser."""
        import optparse

        import yt_dlp

        rt = runtime if runtime is not None else find_js_runtime(self.js_runtime)
        argv = ["--ignore-config", "--no-js-runtimes", "--js-runtimes",
                f"{rt.name}:{rt.path}" if rt.path else rt.name]
        if self.cookies_from_browser:
            argv += ["--cookies-from-browser", self.cookies_from_browser]
        for arg in self.extractor_args:
            argv += ["--extractor-args", arg]
        try:
            opts = yt_dlp.parse_options(argv).ydl_opts
        except (optparse.OptParseError, ValueError) as e:
            lines = [ln for ln in str(e).splitlines() if ln.strip()]
            msg = lines[-1].split("error:", 1)[-1].strip() if lines else str(e)
            raise UserError(f"yt-dlp option: {msg}") from None
        out: dict[str, Any] = {"js_runtimes": opts["js_runtimes"]}
        if opts.get("cookiesfrombrowser"):
            out["cookiesfrombrowser"] = opts["cookiesfrombrowser"]
        if opts.get("extractor_args"):
            out["extractor_args"] = opts["extractor_args"]
        return out

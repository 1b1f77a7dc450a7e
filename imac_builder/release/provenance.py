"""What produced the data: tool and library versions, the configuration, store hashes."""

from __future__ import annotations

import hashlib
import re
import subprocess
from collections.abc import Callable
from importlib import metadata
from pathlib import Path, PurePath
from typing import Any

from .. import __version__
from ..config import config_hash
from ..vocab import SAMPLE_RATE, SEGMENT_SECONDS
from .checks import SECRET_NAMES

#: What a release keeps of ``splits/split.json``: enough to read the split back as built.
SPLIT_KEYS = ("seed", "ratios", "protocol", "music", "images")
PACKAGES = {"yt-dlp": "yt-dlp", "librosa": "librosa", "torch": "torch",
            "soundfile": "soundfile", "h5py": "h5py", "numpy": "numpy", "Pillow": "Pillow"}


def sha256_file(path: Path | int, block: int = 1 << 20, *, stop: Any = None) -> str:
    """The sha256 of a file (a path or an open descriptor, which is closed), read in
    blocks; ``stop`` (a ``threading.Event``) is looked at between blocks, so a worker
    thread hashing a large file ends as soon as the command is stopped."""
    from ..stopping import Cancelled

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            if stop is not None and stop.is_set():
                raise Cancelled(str(path))
            h.update(chunk)
    return h.hexdigest()


def ffmpeg_version() -> str:
    """``ffmpeg -version``'s version word (never the binary's path), or ``""``."""
    from ..download.decode import ffmpeg_binary
    from ..errors import UserError

    try:
        exe = ffmpeg_binary()
        out = subprocess.run([exe, "-version"], capture_output=True, text=True, timeout=30,
                             check=False).stdout
    except (UserError, OSError, subprocess.SubprocessError):
        return ""
    m = re.match(r"ffmpeg version (\S+)", out)
    return m.group(1) if m else ""


def versions() -> dict[str, str]:
    """Versions of the tool and of the libraries that shape the data (no imports)."""
    out = {"imac_builder": __version__, "ffmpeg": ffmpeg_version()}
    for name, dist in PACKAGES.items():
        try:
            out[name] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[name] = ""
    return out


def sanitize(value: Any, redacted: list[str], key: str = "",
             scrub: Callable[[str], str] = str) -> Any:
    """A configuration safe to publish: secrets dropped, local paths reduced to file names,
    other text passed through ``scrub``."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            name = f"{key}.{k}" if key else str(k)
            if SECRET_NAMES.search(str(k)):
                redacted.append(name)
                continue
            out[str(k)] = sanitize(v, redacted, name, scrub)
        return out
    if isinstance(value, list | tuple):
        return [sanitize(v, redacted, key, scrub) for v in value]
    if isinstance(value, str):
        if value.startswith(("/", "~")) or re.match(r"^[A-Za-z]:\\", value):
            return PurePath(value).name
        return scrub(value)
    return value


def store_info(path: Path) -> dict[str, Any]:
    """sha256, row count and recorded configuration of a feature store."""
    from ..features.store import FeatureStore

    store = FeatureStore.open(path)
    attrs = store.attrs
    return {"file": f"features/{path.name}", "sha256": sha256_file(path), "rows": len(store),
            "dims": int(store.features.shape[1]), "modality": store.modality,
            "config": attrs.get("config", {}), "config_hash": attrs.get("config_hash", ""),
            "weights_sha256": attrs.get("weights_sha256", ""),
            "extractor": attrs.get("extractor", "")}


def pipeline_config(pipeline: dict[str, Any] | None, stores: dict[str, dict[str, Any]],
                    split: dict[str, Any] | None, scrub: Callable[[str], str] = str
                    ) -> tuple[dict[str, Any], list[str]]:
    """The full configuration a rebuild needs, sanitised; also the redacted key names."""
    redacted: list[str] = []
    config: dict[str, Any] = {
        "pipeline": sanitize(pipeline or {}, redacted, scrub=scrub),
        "segments": {"sample_rate": SAMPLE_RATE, "seconds": SEGMENT_SECONDS, "channels": 1,
                     "sha256_of": "16-bit little-endian PCM samples"},
        "features": {m: sanitize(info.get("config", {}), redacted, m, scrub)
                     for m, info in sorted(stores.items())},
        "split": sanitize({k: v for k, v in (split or {}).items()
                           if k in SPLIT_KEYS}, redacted,
                          scrub=scrub),
    }
    return config, sorted(set(redacted))


__all__ = ["SPLIT_KEYS", "config_hash", "pipeline_config", "sha256_file", "store_info", "versions"]

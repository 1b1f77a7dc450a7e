"""Pipeline configuration files (TOML): one table per command, keys named as its options.

``imac-build --config pipelines/paper.toml tags ...`` takes each option's default from
the ``[tags]`` table; an option given on the command line wins.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any

from .errors import UserError


def load_config(path: Path) -> dict[str, dict[str, Any]]:
    """Read a pipeline file; UserError when it is not valid TOML of tables."""
    try:
        with Path(path).open("rb") as fh:
            doc = tomllib.load(fh)
    except FileNotFoundError:
        raise UserError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"config file {path} is not valid TOML: {e}") from None
    except UnicodeDecodeError:
        raise UserError(f"config file {path} is not UTF-8 text") from None
    for key, value in doc.items():
        if not isinstance(value, dict):
            raise UserError(f"config file {path}: '{key}' must be a table ([{key}])")
    return doc


def config_hash(values: dict[str, Any]) -> str:
    """A stable sha256 of a configuration (sorted keys, JSON), for provenance."""
    blob = json.dumps(values, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()

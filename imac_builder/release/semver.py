"""Release versions as Croissant defines them (SemVer on the data).

PATCH: the same data re-serialised; MINOR: records added only; MAJOR: records changed or
removed, or moved between splits. A release gets at least the bump its changes call for
relative to the latest release of the same name, and a released version is never
overwritten.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import UserError

#: ASCII digits only: ``\d`` would also take other scripts' digits (``2٠.0.0``).
VERSION = re.compile(r"^(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})$")
LEVELS = ("patch", "minor", "major")
FIRST = (1, 0, 0)

Version = tuple[int, int, int]


def parse_version(text: str, where: str = "version") -> Version:
    m = VERSION.fullmatch(text or "")
    if m is None:
        raise UserError(f"{where}: {text[:40]!r} is not a version MAJOR.MINOR.PATCH "
                        "(such as 1.0.0)")
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def fmt(v: Version) -> str:
    return ".".join(map(str, v))


def bump(v: Version, level: str) -> Version:
    if level == "major":
        return v[0] + 1, 0, 0
    if level == "minor":
        return v[0], v[1] + 1, 0
    return v[0], v[1], v[2] + 1


def released(folder: Path, name: str) -> dict[Version, Path]:
    """Versions of ``name`` released in ``folder`` (sub-folders ``<name>-X.Y.Z``)."""
    out: dict[Version, Path] = {}
    if not folder.is_dir():
        return out
    prefix = f"{name}-"
    for p in folder.iterdir():
        if p.is_dir() and p.name.startswith(prefix) and VERSION.fullmatch(p.name[len(prefix):]):
            out[parse_version(p.name[len(prefix):])] = p
    return out


def choose_version(requested: str | None, previous: Version | None, level: str,
                   why: str) -> str:
    """The version to release: ``requested`` if it states the change fully, otherwise a
    UserError; without ``requested`` the smallest allowed."""
    if previous is None:
        return fmt(parse_version(requested, "--version")) if requested else fmt(FIRST)
    smallest = bump(previous, level)
    if requested is None:
        return fmt(smallest)
    want = parse_version(requested, "--version")
    if want <= previous:
        raise UserError(f"--version {requested}: {fmt(previous)} is already released; "
                        f"a new release must be newer (smallest allowed: {fmt(smallest)})")
    if want < smallest:
        raise UserError(f"--version {requested} understates the change since "
                        f"{fmt(previous)}: it is a {level.upper()} change ({why}); the "
                        f"smallest allowed version is {fmt(smallest)}")
    return requested

"""The work directory: where each stage reads and writes (spec, "Work directory")."""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError
from .guard import check_not_link, json_object, open_nofollow, shown


@dataclass(frozen=True)
class Workdir:
    """Paths of every stage's outputs under one root."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    def stage(self, name: str) -> Path:
        """The folder of one stage (``tags``, ``search``, ``audio``, ...), created on
        demand; one linked out of the work directory is refused in one line (a stage
        removes its own leftovers there, never elsewhere: link the whole work directory
        to put it on another disk)."""
        from .guard import folder_inside

        return folder_inside(self.root, self.root / name, f"the {name} folder")

    @property
    def logs(self) -> Path:
        return self.stage("logs")

    @contextmanager
    def lock(self, what: str) -> Iterator[None]:
        """Hold an exclusive lock on the work directory while a stage writes to it.

        A second ``imac-build`` on the same work directory is refused with a clear
        message instead of both writing the same tables.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / ".lock"
        fd = open_nofollow(path, os.O_RDWR | os.O_CREAT)  # a link out is refused
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or \
                        "another process"
                    raise UserError(
                        f"work directory {self.root} is in use by {holder}; "
                        "wait for it to finish or use another --workdir"
                    ) from None
                raise
            os.ftruncate(fd, 0)
            os.write(fd, f"pid {os.getpid()} ({what})".encode())
            yield
        finally:
            os.close(fd)


#: What a work directory remembers between commands (``W/workdir.json``).
STATE_FILE = "workdir.json"


#: The shape of ``workdir.json``: remembered paths are text; ``configs`` maps a stage to
#: ``{"hash": text, "values": a table}``. Unknown keys are kept (a newer version's).
STATE_TEXT_KEYS = ("pipeline", "image_root")


def check_state(path: Path, doc: dict) -> None:
    """Refuse a ``workdir.json`` of another shape in one line (checked once, where it is
    read, so no caller meets a string where a table goes)."""
    def bad(what: str) -> UserError:
        return UserError(f"{path}: {what}: fix it or delete the file (it only remembers "
                         "settings)")

    for key in STATE_TEXT_KEYS:
        if key in doc and not isinstance(doc[key], str):
            raise bad(f"{key!r} is not text")
    subset = doc.get("subset")  # imac_builder.subset.STATE_KEY: the songs stages keep to
    if subset is not None and not (
            isinstance(subset, dict) and isinstance(subset.get("track_ids"), list)
            and all(isinstance(t, str) for t in subset["track_ids"])):
        raise bad("'subset.track_ids' is not a list of track ids (left as it is, every "
                  "song would be searched)")
    configs = doc.get("configs", {})
    if not isinstance(configs, dict) or not all(isinstance(v, dict) for v in configs.values()):
        raise bad("'configs' is not a table of tables")
    for stage, rec in configs.items():
        if not isinstance(rec.get("hash", ""), str):
            raise bad(f"configs.{shown(stage)}.hash is not text")
        if not isinstance(rec.get("values", {}), dict):
            raise bad(f"configs.{shown(stage)}.values is not a table")


def command(root: Path | str, *words: str) -> str:
    """The ``imac-build`` command line for this work directory, ready to paste in bash (a
    name with a newline or an escape is written ``$'…'``, which bash reads back as it is)."""
    return " ".join(["imac-build", "--workdir", quote(str(root)), *map(quote, words)])


def quote(word: str) -> str:
    """One word for a bash command line (``$'…'`` when it holds control characters)."""
    import shlex

    if word.isprintable():
        return shlex.quote(word)
    out = "".join(c if c.isprintable() and c not in "\\'" else
                  "\\" + c if c in "\\'" else
                  "".join(f"\\x{b:02x}" for b in c.encode("utf-8", "surrogateescape"))
                  for c in word)
    return f"$'{out}'"


def read_state(root: Path | str) -> dict:
    """The remembered state (empty when absent). A file edited into something else (a
    FIFO, a list, NaN, a string where a table goes) is one line naming it: it is read
    by the bounded, strict reader (:func:`guard.json_object`)."""
    path = Path(root) / STATE_FILE
    if not os.path.lexists(path):
        return {}
    doc = json_object(path, "a work directory's memory (delete it to forget)", nofollow=True)
    check_state(path, doc)
    return doc


def update_state(root: Path | str, **changes: object) -> dict:
    """Merge ``changes`` into the remembered state (atomically) and return it (a dict
    value is merged into the dict it replaces: one stage's config among the others)."""
    return _write_state(root, changes, merge=True)


def replace_state(root: Path | str, **changes: object) -> dict:
    """Set ``changes`` in the remembered state as they are, a dict value replacing the
    old one whole (a new subset keeps nothing of the old one's fields)."""
    return _write_state(root, changes, merge=False)


def _write_state(root: Path | str, changes: dict[str, object], merge: bool) -> dict:
    import json

    from . import atomic

    check_not_link(Path(root) / STATE_FILE)
    doc = read_state(root)
    for key, value in changes.items():
        if merge and isinstance(value, dict) and isinstance(doc.get(key), dict):
            doc[key] = {**doc[key], **value}
        else:
            doc[key] = value
    atomic.write_text(Path(root) / STATE_FILE, json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return doc


def record_config(root: Path | str, stage: str, config: object) -> None:
    """Remember the configuration a stage ran with (``status`` compares it later)."""
    update_state(root, configs={stage: {"hash": config.hash(),  # type: ignore[attr-defined]
                                        "values": config.to_dict()}})  # type: ignore[attr-defined]

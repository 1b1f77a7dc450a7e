"""The application object every command receives, and the group that turns every failure
into one line and an exit code."""

from __future__ import annotations

import errno
import functools
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from .. import __version__, stages
from ..config import (
    CONFIGS,
    StageConfig,
    bounds_text,
    choices_of,
    field_default,
    field_type,
    flag_of,
    item_type,
    problem,
    stage_config,
)
from ..errors import UserError
from ..guard import folder_inside, open_nofollow, printable
from ..paths import inside
from ..stopping import exit_code, stop_workers
from ..workdir import Workdir, read_state, record_config, update_state

log = logging.getLogger("imac_builder")
#: Commands outside the registry that need an existing work directory.
NEEDS = {"verify": "rebuild (or the stages)"}


@dataclass
class App:
    """Options shared by every command (the click context object)."""

    workdir: Workdir
    verbose: int = 0
    quiet: bool = False
    json: bool = False
    #: The pipeline file in effect: given with --config, or remembered by the work
    #: directory (``config_remembered``).
    config_path: Path | None = None
    config_remembered: bool = False
    #: What a successful stage makes the work directory remember (``workdir.json``).
    remember: dict[str, str] = field(default_factory=dict)

    def image_root(self, given: Path | None, remember: bool = True) -> Path | None:
        """The image root given (remembered after the stage succeeds, unless
        ``remember`` is false: a check such as ``verify`` changes no memory), or the one
        the work directory remembers."""
        if given is not None:
            if remember:
                try:
                    self.remember["image_root"] = str(Path(given).resolve())
                except (OSError, RuntimeError) as e:  # a symlink loop (3.11: RuntimeError)
                    raise UserError(f"--image-root {printable(str(given))}: {e}") from None
            return given
        remembered = read_state(self.workdir.root).get("image_root")
        if isinstance(remembered, str) and remembered:
            log.info("image root %s (remembered by the work directory)", remembered)
            return Path(remembered)
        return None

    @property
    def progress(self) -> bool:
        """Progress bars only for a person watching a terminal."""
        return not (self.quiet or self.json) and sys.stderr.isatty()

    def setup_logging(self) -> Path:
        """Log to ``W/logs/imac-build.log`` (and to stderr with -v)."""
        path = folder_inside(self.workdir.root, self.workdir.root / "logs", "the log")
        path = path / "imac-build.log"
        root = logging.getLogger("imac_builder")
        root.setLevel(logging.DEBUG)
        for h in [h for h in root.handlers if getattr(h, "_imac", False)]:
            root.removeHandler(h)  # a previous command in this process (tests, notebooks)
            h.close()
        handlers: list[logging.Handler] = [_LogFile(path)]
        handlers[0].setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        if self.verbose:
            handlers.append(logging.StreamHandler(sys.stderr))
            handlers[1].setLevel(logging.DEBUG if self.verbose > 1 else logging.INFO)
        for h in handlers:
            h._imac = True  # type: ignore[attr-defined]
            root.addHandler(h)
        return path

    def run(self, stage: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
        """Run one stage under the work-directory lock and print its summary."""
        if not self.workdir.root.is_dir():
            if stage in NEEDS:
                raise UserError(f"work directory {self.workdir.root} does not exist: run "
                                f"the {NEEDS[stage]} first (or give the right --workdir)")
            if stage in stages.BY_NAME and (msg := stages.needs_message(
                    stage, self.workdir.root)):
                raise UserError(msg)
        self.setup_logging()
        log.info("%s started (imac-build %s)", stage, __version__)
        with self.workdir.lock(stage):
            remove_stale(stage, self.workdir.root)
            try:
                summary = fn(**kwargs)
            except BaseException:
                stop_workers()  # nothing may write here once the lock is released
                raise
            config = effective_config(stage)
            if config is not None:
                record_config(self.workdir.root, stage, config)
            if self.config_path is not None and not self.config_remembered:
                self.remember["pipeline"] = str(Path(self.config_path).resolve())
            if self.remember:
                update_state(self.workdir.root, **self.remember)
        if self.json:
            click.echo(json.dumps({"command": stage, **summary.to_dict()}, sort_keys=True))
        elif not self.quiet:
            for line in summary.lines():
                click.echo(printable(line))  # titles and reasons come from files
        return summary


class _LogFile(logging.FileHandler):
    """``W/logs/imac-build.log``: opened without following a symbolic link (a link out of
    the work directory is refused in one line, never appended to), and written with
    undecodable characters escaped (a work directory whose name is not UTF-8 logs too)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, encoding="utf-8", errors="backslashreplace", delay=True)
        self.stream = self._open()

    def _open(self):  # noqa: ANN202 - logging's own signature
        fd = open_nofollow(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        return os.fdopen(fd, "a", encoding="utf-8", errors="backslashreplace")


def remove_stale(stage: str, root: Path) -> int:
    """Remove the temporaries an earlier killed run left beside the stage's declared
    outputs (run under the lock, so none of them is being written)."""
    from .. import atomic

    entry = stages.BY_NAME.get(stage)
    folders = {(root / f.path).parent for f in (entry.outputs if entry else ())
               if "<" not in f.path}
    n = sum(atomic.remove_stale_temporaries(d) for d in sorted(folders))
    if n:
        log.info("removed %d temporary file(s) left by an earlier kill", n)
    return n


def _json_error(argv: list[str], message: str, code: int) -> None:
    """With ``--json``, an error is also a JSON object on stdout, for programs."""
    if "--json" in argv:
        click.echo(json.dumps({"error": message, "exit_code": code}, sort_keys=True))


class ImacGroup(click.Group):
    """Turns user errors, Ctrl-C and full disks into one clear line and an exit code."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        """As click's, but a usage error is one line too (no usage block)."""
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        argv = list(args[0] if args and args[0] is not None else kwargs.get("args") or
                    sys.argv[1:])
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except click.UsageError as e:
            where = e.ctx.command_path if e.ctx else "imac-build"
            _json_error(argv, e.format_message(), e.exit_code)
            click.echo(printable(f"Error: {e.format_message()} (see '{where} --help')"),
                       err=True)
            sys.exit(e.exit_code)
        except click.ClickException as e:
            _json_error(argv, e.format_message(), e.exit_code)
            click.echo(printable(f"Error: {e.format_message()}"), err=True)
            sys.exit(e.exit_code)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # pipeline order, not alphabetical

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as e:
            raise click.ClickException(printable(str(e))) from None
        except KeyboardInterrupt as e:
            what = "interrupted" if exit_code(e) == 130 else f"stopped by {_signame(e)}"
            click.echo(f"{what}: finished work is kept; run the same command again "
                       "to resume", err=True)
            ctx.exit(exit_code(e))
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as e:
            if (line := failure_line(e)) is not None:
                raise click.ClickException(printable(line)) from None
            if isinstance(ctx.obj, App) and ctx.obj.verbose:
                raise
            raise click.ClickException(printable(internal_error(ctx.obj, e))) from None


def _signame(e: KeyboardInterrupt) -> str:
    import signal

    try:
        return signal.Signals(exit_code(e) - 128).name
    except ValueError:
        return "a signal"


#: What to do about an OSError, by errno (the message names the file).
ERRNO_ADVICE = {
    errno.ENOSPC: "disk full: free space and run the same command again; finished work "
                  "is kept",
    errno.EDQUOT: "disk quota exceeded: free space and run the same command again; "
                  "finished work is kept",
    errno.ENAMETOOLONG: "file name too long for the file system: use a shorter path",
    errno.EACCES: "permission denied: check the file's owner and mode",
    errno.EPERM: "operation not permitted: check the file's owner and mode",
    errno.ENOENT: "no such file or folder",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.EISDIR: "is a folder, not a file",
    errno.EROFS: "read-only file system: give a writable --workdir or --out",
    errno.EMFILE: "too many open files: raise the limit (ulimit -n) or lower --jobs",
    errno.ENFILE: "too many open files on the system: lower --jobs",
    errno.ELOOP: "too many levels of symbolic links",
    errno.EEXIST: "already exists: it was written by another run meanwhile",
    errno.ENOTEMPTY: "already exists: it was written by another run meanwhile",
    errno.EIO: "input/output error: the disk or network file system failed; check it",
    errno.ENOMEM: "out of memory: lower --jobs or the batch size",
    errno.EXDEV: "cannot move across file systems: keep the folders on one disk",
}


def failure_line(e: BaseException) -> str | None:
    """One line for a foreseeable failure (a file system, a decoding, a limit), or None
    for a bug."""
    import csv

    if isinstance(e, ModuleNotFoundError):  # an optional dependency: name its extra
        from ..extras import missing_dependency

        err = missing_dependency(e)
        return None if err is None else str(err)
    if isinstance(e, OSError) and e.errno in ERRNO_ADVICE:
        where = " -> ".join(str(f) for f in (e.filename, e.filename2) if f) or \
            "the work directory"
        return f"{where}: {ERRNO_ADVICE[e.errno]}"
    if isinstance(e, UnicodeDecodeError):
        return (f"a file is not UTF-8 text ({e.reason} at byte {e.start}): save it as UTF-8 "
                "or rerun the stage that writes it")
    if isinstance(e, csv.Error):
        return f"a table is not readable CSV ({e}): rerun the stage that writes it"
    if isinstance(e, RecursionError):
        return "an input nests too deeply to read (a hostile or damaged file): replace it"
    return None


def internal_error(app: object, e: BaseException) -> str:
    """Log a bug's traceback where the line says it is, and return that line."""
    where = ""
    text = traceback.format_exc()
    if isinstance(app, App) and app.workdir.root.is_dir() and inside(
            app.workdir.root, app.workdir.root / "logs"):
        try:
            path = app.workdir.logs / "imac-build.log"
            fd = open_nofollow(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            with os.fdopen(fd, "a", encoding="utf-8", errors="backslashreplace") as fh:
                fh.write(f"internal error\n{text}\n")
            where = f"; traceback in {path}"
        except (OSError, UserError):
            where = ""
    if not where:
        where = "; run it again with -v to see the traceback"
    return f"internal error ({type(e).__name__}: {str(e)[:200]}){where}; please report it"


def _set_flag(name: str) -> Callable[[click.Context, click.Parameter, bool], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        if value and isinstance(ctx.obj, App):
            setattr(ctx.obj, name, True)

    return callback


def effective_config(stage: str) -> StageConfig | None:
    """The configuration the current command runs with (built by :func:`configured`)."""
    if stage not in CONFIGS:
        return None
    ctx = click.get_current_context(silent=True)
    config = ctx.meta.get(_CONFIG) if ctx is not None else None
    if isinstance(config, CONFIGS[stage]):
        return config
    return stage_config(stage, ctx.params if ctx is not None else {})


_CONFIG = CONFIG_KEY = "imac_builder.config"


def config_options(cls: type[StageConfig]) -> list[click.Option]:
    """One click option per field of a configuration dataclass: flag, type, choices,
    default and help all read from the field (``config.setting``); values are judged by
    :func:`config.problem`, the dataclass's own check."""
    from dataclasses import fields

    options = []
    for f in fields(cls):
        m, kind, default = f.metadata, field_type(cls, f.name), field_default(f)
        flag = flag_of(f)
        decls = [flag, *m.get("aliases", ()), f.name]
        kw: dict[str, Any] = {"help": m.get("help", ""), "metavar": m.get("metavar")}
        if kind is bool:
            if default or m.get("negatable"):
                decls[0] = f"{flag}/--no-{flag[2:]}"
            kw.update(is_flag=True, default=default)
        else:
            choices = choices_of(f)
            if kind is tuple and item_type(cls, f.name) is int:
                kw["type"] = IntList()
                if bounds := bounds_text(f):
                    text = kw["help"]
                    kw["help"] = (f"{text[:-1]} (each {bounds})." if text.endswith(".")
                                  else f"{text} (each {bounds})")
            elif kind is tuple:
                kw.update(multiple=True, default=tuple(default))
            elif choices is not None:
                kw["type"] = RegistryChoice(f)
            elif m.get("path"):
                kind_ = m["path"]
                kw["type"] = click.Path(path_type=Path, dir_okay=kind_ != "file",
                                        file_okay=kind_ != "dir")
            elif kind in (int, float):
                kw["type"] = click.INT if kind is int else click.FLOAT
                if bounds := bounds_text(f):
                    text = kw["help"]
                    kw["help"] = (f"{text[:-1]} ({bounds})." if text.endswith(".")
                                  else f"{text} ({bounds})")
            kw.update(default=default if kind is not tuple else tuple(default),
                      show_default=default is not None and default not in ((), ""))
            kw["callback"] = _judge(cls, f)
        options.append(click.Option(decls, **kw))
    return options


class Folder(click.Path):
    """A folder option's path (``--image-root``): an empty or blank value is refused, not
    read as the current folder (a folder really named with blanks is taken)."""

    def __init__(self) -> None:
        super().__init__(file_okay=False, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip() and not (value and Path(value).is_dir()):
            self.fail("an empty path names no folder (give the folder, or leave the "
                      "option out)", param, ctx)
        return super().convert(value, param, ctx)


class IntList(click.ParamType):
    """'1024,1024' -> (1024, 1024); a list or tuple (pipeline file, default) passes."""

    name = "N,N,..."

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> tuple[int, ...]:
        if isinstance(value, tuple | list):
            return tuple(value)
        try:
            return tuple(int(v) for v in str(value).split(",") if v.strip())
        except ValueError:
            self.fail(f"{value!r}: give whole numbers separated by commas", param, ctx)


class RegistryChoice(click.Choice):
    """A click choice read from the field each time (a registry's keys, so an entry
    registered after the CLI was imported is accepted too)."""

    def __init__(self, f: Any) -> None:
        self._field = f
        super().__init__(list(choices_of(f) or ()))

    @property  # type: ignore[override]
    def choices(self) -> list[str]:
        return list(choices_of(self._field) or ())

    @choices.setter
    def choices(self, value: Any) -> None:  # click's __init__ sets it; the field wins
        pass


def _judge(cls: type[StageConfig], f: Any) -> Callable[..., Any]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is not None and not isinstance(value, tuple) and \
                not isinstance(value, str | bool | int | float):
            value = str(value)  # a path: the configuration keeps its string
        plain = value
        if field_type(cls, f.name) is float and isinstance(value, int):
            plain = float(value)
        if (why := problem(cls, f, plain)) is not None:
            raise click.BadParameter(why, ctx=ctx, param=param)
        return value

    return callback


def configured(stage: str) -> Callable[[click.Command], click.Command]:
    """Give a command its stage's configuration options (from the dataclass) and hand the
    command one ``config`` argument, the dataclass built from them."""
    from dataclasses import fields

    cls = CONFIGS[stage]
    names = [f.name for f in fields(cls)]

    def apply(cmd: click.Command) -> click.Command:
        clash = {p.name for p in cmd.params} & set(names)
        if clash:
            raise RuntimeError(f"{stage}: {sorted(clash)} are declared by {cls.__name__}")
        cmd.params += config_options(cls)
        callback = cmd.callback
        assert callback is not None

        def run(*args: Any, **kwargs: Any) -> Any:
            values = {n: kwargs.pop(n) for n in names}
            config = cls(**{k: v for k, v in values.items()
                            if v is not None or k in _nullable(cls)})
            click.get_current_context().meta[_CONFIG] = config
            return callback(*args, config=config, **kwargs)

        functools.update_wrapper(run, callback)
        cmd.callback = run
        return cmd

    return apply


def _nullable(cls: type[StageConfig]) -> set[str]:
    from dataclasses import fields

    return {f.name for f in fields(cls) if field_default(f) is None}


def ytdlp_options(prefix: str) -> Callable[[click.Command], click.Command]:
    """The yt-dlp options users know, for every command that runs yt-dlp."""
    options = [
        click.option("--js-runtime", metavar="NAME[:PATH]",
                     help=f"{prefix}JavaScript runtime yt-dlp solves YouTube's challenges "
                          "with (deno, node, bun, quickjs; default: the deno package's "
                          "Deno)."),
        click.option("--cookies-from-browser", metavar="BROWSER[:PROFILE]",
                     help=f"{prefix}read cookies from a browser, as yt-dlp's option of "
                          "that name."),
        click.option("--extractor-args", "extractor_args", multiple=True,
                     metavar="IE_KEY:ARGS",
                     help=f"{prefix}yt-dlp extractor arguments (repeatable), e.g. "
                          "'youtube:player_client=default,mweb'."),
    ]

    def apply(fn: Any) -> Any:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return apply

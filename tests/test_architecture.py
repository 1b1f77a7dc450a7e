"""The package's shape: no import cycles, click only in the CLI layer, one registry."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "imac_builder"
#: ``TYPE_CHECKING`` imports outside the CLI (lower it as they go; never raise it).
TYPE_CHECKING_IMPORTS = 16


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _type_checking_blocks(tree: ast.AST) -> set[int]:
    """ids of the nodes under ``if TYPE_CHECKING:``."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for b in node.body for n in ast.walk(b))
    return skip


def _runtime_imports(path: Path, typing_too: bool = False) -> list[tuple[str, list[str]]]:
    """(module, names) for every import that runs: module level or inside functions,
    and with ``typing_too`` those under ``if TYPE_CHECKING:`` as well."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = set() if typing_too else _type_checking_blocks(tree)
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.append((mod, [a.name for a in node.names]))
    return out


def _graph(typing_too: bool = False) -> dict[str, set[str]]:
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        for mod, names in _runtime_imports(path, typing_too):
            targets = [f"{mod}.{n}" for n in names if f"{mod}.{n}" in mods]
            if len(targets) < len(names) and mod in mods:
                targets.append(mod)  # names taken from the module itself
            graph[name].update(t for t in targets if t != name)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_planted_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycles_inside_the_package() -> None:
    """Function-level imports count: a cycle hidden inside a function is still a cycle."""
    assert _cycles(_graph()) == []


def test_no_import_cycles_through_type_checking_imports_either() -> None:
    """A ``TYPE_CHECKING`` import hides a cycle from the interpreter, not from the design:
    the types a module names come from below it."""
    assert _cycles(_graph(typing_too=True)) == []


def test_type_checking_imports_are_counted() -> None:
    """How many ``if TYPE_CHECKING:`` imports the package has outside the CLI (the CLI's
    name ``App`` only for annotations); this fails when one is added, so it is looked at."""
    count = 0
    for name, path in _modules().items():
        if name.startswith("imac_builder.cli"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        blocks = _type_checking_blocks(tree)
        count += sum(1 for n in ast.walk(tree)
                     if isinstance(n, ast.Import | ast.ImportFrom) and id(n) in blocks)
    assert count <= TYPE_CHECKING_IMPORTS


def test_click_is_imported_only_by_the_cli_package() -> None:
    offenders = [name for name, path in _modules().items()
                 if not name.startswith("imac_builder.cli")
                 and any(m == "click" or m.startswith("click.")
                         for m, _ in _runtime_imports(path))]
    assert offenders == []


def test_every_registered_stage_has_a_command_in_order() -> None:
    from imac_builder import stages
    from imac_builder.cli import cli

    names = list(cli.commands)
    assert names[: len(stages.ORDER)] == list(stages.ORDER)


@pytest.mark.parametrize("stage", ["search", "download", "features", "split", "train"])
def test_every_stage_input_is_written_by_an_earlier_stage(stage: str) -> None:
    from imac_builder import stages

    for item in stages.get(stage).inputs:
        assert stages.ORDER.index(item.writer) < stages.ORDER.index(stage), item.path


def test_one_stage_list_serves_status_doctor_extras_and_the_cli() -> None:
    """doctor's --for choices, the optional modules per stage, the configuration tables and
    the states status judges all come from ``stages.STAGES``."""
    from imac_builder import config, doctor, extras, stages
    from imac_builder.cli import cli

    assert doctor.STAGES == (*stages.ORDER, "demo")
    assert set(extras.stage_modules()) == {*stages.ORDER, "demo"}
    for s in stages.STAGES:
        assert s.config is config.CONFIGS.get(s.name)
        assert set(s.needs) <= set(stages.NEEDS), s.name
        if s.judge:
            assert s.judgement().__name__ == f"judge_{s.name}"
    assert stages.needing("ffmpeg") == ["download", "features", "demo"]
    assert stages.needing("gpu") == [] and stages.needing("gpu", cuda=True) == [
        "features", "train"]
    for_choices = next(p for p in cli.commands["doctor"].params if p.name == "stages")
    assert tuple(for_choices.type.choices) == doctor.STAGES

"""Rules of the house that review alone cannot keep: check IDs written once, and who may import whom.

Imports are read with `ast`, so a rule holds for every module, including ones no test imports.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
HARNESS = SRC / "realtime_verify"
REFERENCE_APP = SRC / "reference_app"
CATALOGUE_FILE = HARNESS / "catalogue.py"
CHECK_ID = re.compile(r"\b(ENV|NGX|CF|HS|RT|FT|SW)-\d{3}\b")
# Files of src/ a person writes (the egg-info is generated from the README, which may name IDs).
SOURCE_SUFFIXES = {".py", ".js", ".html", ".css", ".json", ".conf", ".toml", ".env", ".md"}
IO_MODULES = {
    "aiohttp",
    "asyncio",
    "cloudflare",
    "crossplane",
    "engineio",
    "http",
    "httpx",
    "playwright",
    "requests",
    "socket",
    "socketio",
    "ssl",
    "subprocess",
    "urllib.request",
}
PYTEST_MODULES = {"pytest", "pytest_asyncio", "_pytest"}
# The `run` command *is* pytest: it calls pytest.main, importing it inside the function so that
# `serve`, `audit` and `report` work without pytest. No other exception.
PYTEST_ALLOWED = {("realtime_verify/cli.py", "cmd_run")}


def source_files() -> Iterator[Path]:
    for path in sorted(SRC.rglob("*")):
        if path.is_file() and path.suffix in SOURCE_SUFFIXES and not any(p.endswith(".egg-info") for p in path.parts):
            yield path


def stray_ids() -> list[tuple[Path, int, str]]:
    """Every line of src/ outside catalogue.py that writes a check ID."""
    return [
        (path, number, line.strip())
        for path in source_files()
        if path != CATALOGUE_FILE
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1)
        if CHECK_ID.search(line)
    ]


def test_check_ids_are_written_only_in_the_catalogue() -> None:
    stray = [f"{path.relative_to(ROOT)}:{number}: {line}" for path, number, line in stray_ids()]
    assert not stray, "check IDs outside catalogue.py (refer to the constant, catalogue.RT_002):\n" + "\n".join(stray)


def test_the_id_grep_sees_the_catalogue() -> None:
    # Guard against a grep that finds nothing because it looks in the wrong place.
    assert len(CHECK_ID.findall(CATALOGUE_FILE.read_text())) >= 30
    assert any(path.name == "plugin.py" for path in source_files())


class Import:
    """One imported module name, where it is imported, and in which function (None: module level)."""

    def __init__(self, module: str, line: int, function: str | None) -> None:
        self.module = module
        self.line = line
        self.function = function

    def top(self) -> str:
        return self.module.split(".")[0]

    def within(self, names: set[str]) -> bool:
        return any(self.module == name or self.module.startswith(name + ".") for name in names)


def imports_of(path: Path) -> list[Import]:
    """Every module `path` imports (absolute names; relative imports resolved), with its function."""
    return imports_in(path.read_text(), ".".join(path.relative_to(SRC).with_suffix("").parts[:-1]), str(path))


def imports_in(source: str, package: str, filename: str = "<source>") -> list[Import]:
    tree = ast.parse(source, filename)
    found: list[Import] = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, function or child.name)
                continue
            if isinstance(child, ast.Import):
                found.extend(Import(alias.name, child.lineno, function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parent = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*parent, base] if base else parent)
                found.append(Import(base, child.lineno, function))
                found.extend(Import(f"{base}.{alias.name}", child.lineno, function) for alias in child.names)
            visit(child, function)

    visit(tree, None)
    return found


def modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def describe(path: Path, imp: Import) -> str:
    where = f" (in {imp.function})" if imp.function else ""
    return f"{path.relative_to(SRC)}:{imp.line} imports {imp.module}{where}"


def test_the_harness_never_imports_the_reference_app() -> None:
    bad = [describe(p, i) for p in modules(HARNESS) for i in imports_of(p) if i.within({"reference_app"})]
    assert not bad, "\n".join(bad)


def test_the_reference_app_never_imports_the_harness() -> None:
    bad = [describe(p, i) for p in modules(REFERENCE_APP) for i in imports_of(p) if i.within({"realtime_verify"})]
    assert not bad, "\n".join(bad)


def test_only_the_plugin_imports_pytest() -> None:
    bad = [
        describe(path, imp)
        for path in modules(HARNESS)
        if path != HARNESS / "plugin.py"
        for imp in imports_of(path)
        if imp.within(PYTEST_MODULES) and (str(path.relative_to(SRC)), imp.function) not in PYTEST_ALLOWED
    ]
    assert not bad, "only realtime_verify/plugin.py may import pytest:\n" + "\n".join(bad)
    plugin = {imp.top() for imp in imports_of(HARNESS / "plugin.py")}
    assert {"pytest", "pytest_asyncio"} <= plugin, "the rule must see the plugin's own imports"


def test_the_catalogue_imports_nothing_from_the_harness() -> None:
    bad = [describe(CATALOGUE_FILE, i) for i in imports_of(CATALOGUE_FILE) if i.within({"realtime_verify"})]
    assert not bad, "catalogue.py is the shared vocabulary; it imports nothing from realtime_verify:\n" + "\n".join(bad)


@pytest.mark.parametrize("path", modules(HARNESS / "checks"), ids=lambda p: p.name)
def test_checks_do_no_io(path: Path) -> None:
    bad = [describe(path, imp) for imp in imports_of(path) if imp.within(IO_MODULES)]
    assert not bad, "checks/ judges observations; reading them is for probes, audit/ and observe:\n" + "\n".join(bad)


def test_the_import_reader_resolves_relative_and_nested_imports() -> None:
    source = "from . import realtime\nfrom ..stack import zone\n\ndef f():\n    if True:\n        import aiohttp.web\n"
    found = {(imp.module, imp.function) for imp in imports_in(source, "realtime_verify.checks")}
    assert ("realtime_verify.checks.realtime", None) in found
    assert ("realtime_verify.stack.zone", None) in found
    assert ("aiohttp.web", "f") in found


LONG_MODULE_LINES = 350


def test_a_long_module_says_why_at_its_top() -> None:
    """A module over ~350 lines is a smell unless its docstring gives the reason ("on purpose")."""
    unexplained = []
    for path in sorted(HARNESS.rglob("*.py")):
        source = path.read_text()
        if source.count("\n") > LONG_MODULE_LINES:
            docstring = ast.get_docstring(ast.parse(source)) or ""
            if "on purpose" not in docstring and "long because" not in docstring.lower():
                unexplained.append(f"{path.relative_to(SRC)} ({source.count(chr(10))} lines)")
    assert not unexplained, f"long modules with no reason at their top: {unexplained}"

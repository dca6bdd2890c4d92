"""The package's shape: layers that import only downwards, no import cycles, few deferred imports.

The layers contract itself lives in pyproject.toml ([tool.importlinter]) and runs as part of
`make test` (lint-imports); these tests check what it does not: cycles inside a layer, imports
hidden in function bodies, the size of the package root, that the contract really fails
when a boundary is crossed, and that every file is written through the one atomic-write helper.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "nnscratch"
#: Optional third-party packages a module may import inside a function (so the core needs NumPy only).
OPTIONAL = {
    "sympy",
    "matplotlib",
    "sklearn",
    "torch",
    "dask",
    "distributed",
    "flask",
    "pydantic",
    "typer",
    "tqdm",
    "joblib",
    "threadpoolctl",
    "safetensors",
    "scipy",
    "IPython",
    "playwright",
}
MAX_DEFERRED_INTERNAL = 10


def _module_name(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    is_pkg = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_pkg else parts), is_pkg


def _modules() -> dict[str, tuple[Path, bool]]:
    return {_module_name(p)[0]: (p, _module_name(p)[1]) for p in PACKAGE.rglob("*.py")}


def _imports_of(name: str, path: Path, is_pkg: bool, modules: dict) -> list[tuple[str, str, bool, int, Path]]:
    found = []

    def resolve(node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        base = name.split(".") if is_pkg else name.split(".")[:-1]
        base = base[: len(base) - node.level + 1]
        return ".".join(base + ([node.module] if node.module else []))

    def visit(node: ast.AST, depth: int) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, depth + 1)
                continue
            targets: list[str] = []
            if isinstance(child, ast.Import):
                targets = [a.name for a in child.names if a.name.split(".")[0] == "nnscratch"]
            elif isinstance(child, ast.ImportFrom) and resolve(child).split(".")[0] == "nnscratch":
                module = resolve(child)
                for alias in child.names:
                    sub = f"{module}.{alias.name}"
                    targets.append(sub if sub in modules else module)
            for target in dict.fromkeys(targets):
                found.append((name, target, depth > 0, child.lineno, path))
            visit(child, depth)

    visit(ast.parse(path.read_text(encoding="utf-8")), 0)
    return found


def _internal_imports(modules: dict[str, tuple[Path, bool]]) -> list[tuple[str, str, bool, int, Path]]:
    """(importer, imported module, deferred?, line, file) for every import of nnscratch's own code,
    wherever it stands (module level, class body or function body); TYPE_CHECKING blocks excluded."""
    return [
        imp for name, (path, is_pkg) in modules.items() for imp in _imports_of(name, path, is_pkg, modules)
    ]


def _import_graph() -> dict[str, set[str]]:
    """Module -> modules whose code runs when it imports them (a module's parent packages too)."""
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for importer, target, _deferred, _line, _path in _internal_imports(modules):
        parts = target.split(".")
        for i in range(1, len(parts) + 1):
            dep = ".".join(parts[:i])
            if dep in modules and dep != importer and not importer.startswith(dep + "."):
                graph[importer].add(dep)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    result.append(sorted(component))
    return result


def test_no_import_cycles_counting_imports_inside_functions():
    assert _cycles(_import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_nothing_inside_the_package_imports_its_root():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for importer, target, _d, line, path in _internal_imports(_modules())
        if target == "nnscratch" and importer != "nnscratch"
    ]
    assert offenders == []


def test_few_deferred_internal_imports_each_saying_why():
    deferred = [(imp, t, line, path) for imp, t, d, line, path in _internal_imports(_modules()) if d]
    statements = {(path, line) for _i, _t, line, path in deferred}
    assert len(statements) <= MAX_DEFERRED_INTERNAL, sorted(
        f"{p.relative_to(ROOT)}:{line}" for p, line in statements
    )
    for path, line in statements:
        lines = path.read_text(encoding="utf-8").splitlines()
        here, above = lines[line - 1], lines[line - 2]
        assert "#" in here or "#" in above, (
            f"{path.relative_to(ROOT)}:{line}: a deferred import of nnscratch's own code needs a "
            "comment saying why it is deferred"
        )


#: Calls that write a file by themselves; only nnscratch/base/files.py (the atomic-write helper) may.
_WRITING_CALLS = {"write_text", "write_bytes", "tofile", "savetxt", "touch", "mkstemp", "NamedTemporaryFile"}
_WRITING_CALLS |= {"os.open", "os.replace", "os.rename", "os.link", "os.symlink", "shutil.move"}
_WRITING_CALLS |= {"shutil.copy", "shutil.copy2", "shutil.copyfile", "shutil.copytree"}
#: Calls that write to their first argument: fine on a file handle (``fh``, ``buffer``), not on a path.
_WRITING_TO_FIRST = {"savefig", "np.save", "np.savez", "np.savez_compressed", "to_csv", "to_parquet"}
_HANDLES = {"fh", "buffer"}


def _dotted(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        base = _dotted(func.value)
        return f"{base}.{func.attr}" if base in ("os", "np", "shutil", "io", "tempfile") else func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _raw_writes(source: str) -> list[tuple[int, str]]:
    """``(line, call)`` of every call in ``source`` that writes a file without the helper."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        short = name.rsplit(".", 1)[-1]
        if name in _WRITING_CALLS or short in {"mkstemp", "NamedTemporaryFile", "write_text", "write_bytes"}:
            found.append((node.lineno, name))
        elif name in _WRITING_TO_FIRST or short == "savefig":
            first = node.args[0] if node.args else None
            if not (isinstance(first, ast.Name) and first.id in _HANDLES):
                found.append((node.lineno, name))
        elif short in ("open", "fdopen") and name != "os.open":
            mode = (
                node.args[1]
                if len(node.args) > 1
                else next((k.value for k in node.keywords if k.arg == "mode"), None)
            )
            if (
                isinstance(mode, ast.Constant)
                and isinstance(mode.value, str)
                and set(mode.value) & set("wax+")
            ):
                found.append((node.lineno, f"{name}(mode={mode.value!r})"))
    return sorted(found)


def test_every_file_is_written_through_the_atomic_write_helper():
    helper = PACKAGE / "base" / "files.py"
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {call}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != helper
        for line, call in _raw_writes(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "write through nnscratch.base.files.atomic_open / atomic_write instead"


def test_the_raw_write_finder_finds_raw_writes():
    source = """
open(path, "w").write(text)
Path(p).open(mode="ab")
path.write_text(text)
np.save(path, array)
fig.savefig(out / "a.png")
os.replace(tmp, path)
shutil.copy(a, b)
open(path).read()
fig.savefig(fh, format="png")
np.save(fh, array)
"""
    assert [line for line, _ in _raw_writes(source)] == [2, 3, 4, 5, 6, 7, 8]


def test_the_package_root_holds_only_what_users_import():
    files = sorted(p.name for p in PACKAGE.iterdir() if p.is_file() and p.suffix == ".py")
    assert len(files) <= 14, files


def test_the_layers_contract_fails_when_a_boundary_is_crossed(tmp_path):
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint is None:
        pytest.skip("import-linter is not installed (it comes with the dev extra)")
    shutil.copytree(PACKAGE, tmp_path / "src" / "nnscratch", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "src")}

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run([lint, "--no-cache"], cwd=tmp_path, env=env, capture_output=True, text=True)

    kept = run()
    assert kept.returncode == 0, kept.stdout + kept.stderr
    linear = tmp_path / "src" / "nnscratch" / "engine" / "layers" / "linear.py"
    # An import hidden in a function body counts as much as one at the top.
    linear.write_text(
        linear.read_text(encoding="utf-8")
        + "\n\ndef _crossing():\n    from nnscratch.experiments import config\n\n    return config\n",
        encoding="utf-8",
    )
    broken = run()
    assert broken.returncode != 0
    assert "nnscratch.engine is not allowed to import nnscratch.experiments" in broken.stdout

"""The package's shape (issue 19): no import cycles, SQL only in the store, small modules and functions.

Read from the source with ``ast``; nothing is imported. A function may exceed the limit when a
comment on its first line says why (``# long: ...``).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "clhs_mechanisms"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
TABLES = {
    "meta_table",
    "coders",
    "codebooks",
    "codes",
    "cases",
    "documents",
    "turns",
    "segments",
    "suggestions",
    "codings",
    "decisions",
    "memos",
    "audit",
    "metadata",
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Modules of the package that ``name`` imports at import time (module level, not inside functions)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                found.add(target)
    return found


def test_no_import_cycles():
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    index, low, stack, on_stack, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles, cycles


def test_only_the_store_speaks_sql():
    offenders = []
    for name, path in _modules().items():
        if name == "clhs_mechanisms.store" or name.startswith("clhs_mechanisms.store."):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import) and any(a.name.startswith("sqlalchemy") for a in node.names):
                offenders.append(f"{name}: imports sqlalchemy")
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if module.startswith("sqlalchemy"):
                    offenders.append(f"{name}: imports sqlalchemy")
                if module.endswith("store") or ".store." in f".{module}.":
                    offenders += [f"{name}: imports table {a.name}" for a in node.names if a.name in TABLES]
    assert not offenders, offenders


def test_modules_and_functions_are_small():
    too_long = []
    for name, path in _modules().items():
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        if len(lines) > MAX_MODULE_LINES:
            too_long.append(f"{name}: {len(lines)} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                first = lines[node.lineno - 1]
                if length > MAX_FUNCTION_LINES and "# long:" not in first:
                    too_long.append(f"{name}.{node.name}: {length} lines")
    assert not too_long, too_long

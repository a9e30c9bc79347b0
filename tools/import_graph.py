"""Print the import graph between delivery_sign's packages and the line counts of its files.

    python -m tools.import_graph            # edges "a -> b (n)" and cycles
    python -m tools.import_graph --lines    # also the 25 longest files

Hand-written (ast over the source, no import side effects) because pydeps draws module
graphs through graphviz and we want a plain text list of package edges to diff in a note.
An edge a -> b counts the modules of package a that import anything from package b;
``core`` is split into its modules' package ("core") only, so "core -> accounts" means a
core module imports a domain.
"""
from __future__ import annotations

import argparse
import ast
import collections
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent / "delivery_sign"


def _package(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "delivery_sign":
        return None
    return parts[1] if len(parts) > 1 else "delivery_sign"


def _module_name(path: pathlib.Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = _module_name(path).split(".")
    if path.name != "__init__.py":
        here = here[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def graph() -> dict[tuple[str, str], int]:
    edges: collections.Counter = collections.Counter()
    for path in sorted(ROOT.rglob("*.py")):
        source = _package(_module_name(path))
        targets = {_package(m) for m in _imports(path)} - {None, source}
        targets.discard("delivery_sign")
        for target in targets:
            edges[(source, target)] += 1
    return dict(edges)


def cycles(edges) -> list[tuple[str, str]]:
    return sorted((a, b) for (a, b) in edges if a < b and (b, a) in edges)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", action="store_true", help="also print the longest files")
    args = parser.parse_args(argv)
    edges = graph()
    for (a, b), n in sorted(edges.items()):
        print(f"{a} -> {b} ({n})")
    print("two-way:", ", ".join(f"{a}<->{b}" for a, b in cycles(edges)) or "none")
    print("core imports:", ", ".join(sorted(b for a, b in edges if a == "core")) or "nothing")
    if args.lines:
        counts = sorted(
            ((len(p.read_text(encoding="utf-8").splitlines()), p.relative_to(ROOT.parent))
             for p in ROOT.rglob("*.py")), reverse=True)
        for n, p in counts[:25]:
            print(f"{n:6d} {p}")


if __name__ == "__main__":
    main()

"""Fail when a module of evac_dashboard/ (outside localcloud/ and migrations/) is over the
line limit, or when the package import graph has a cycle (``make lint``; the layer rules
themselves are import-linter contracts in .importlinter)."""
import ast
import pathlib
import sys

LIMIT = 500
ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "evac_dashboard"
EXEMPT = ("localcloud", "migrations")
LAYERED = ("rules", "store", "api", "operations", "content")


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).parts
        if parts[0] not in EXEMPT:
            yield path


def package_of(module_name):
    parts = module_name.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "evac_dashboard" else None


def package_graph():
    """{package: {packages it imports}} for the layered packages."""
    graph = {name: set() for name in LAYERED}
    for path in modules():
        source = package_of("evac_dashboard." + ".".join(path.relative_to(PACKAGE).parts))
        if source not in graph:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + ["%s.%s" % (node.module, a.name) for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                target = package_of(name)
                if target in graph and target != source:
                    graph[source].add(target)
    return graph


def cycle(graph):
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return path + [node, nxt]
            if nxt not in state:
                found = visit(nxt, path + [node])
                if found:
                    return found
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [])
            if found:
                return found
    return None


def main():
    problems = []
    for path in modules():
        count = len(path.read_text().splitlines())
        if count > LIMIT:
            problems.append("%s: %d lines (limit %d)" % (path.relative_to(ROOT), count, LIMIT))
    found = cycle(package_graph())
    if found:
        problems.append("package import cycle: " + " -> ".join(found))
    for problem in problems:
        print(problem)
    biggest = max(modules(), key=lambda p: len(p.read_text().splitlines()))
    print("layout: %d modules, largest %s (%d lines), package graph acyclic: %s" % (
        len(list(modules())), biggest.relative_to(ROOT), len(biggest.read_text().splitlines()),
        "no" if found else "yes"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

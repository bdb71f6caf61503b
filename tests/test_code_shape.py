"""The size limits of docs/developing.md ("Code shape"): no module of ``convstudio/`` over
MAX_MODULE_LINES lines and no function over MAX_FUNCTION_LINES, except the numeric kernels named
below, each with the reason it stays in one piece."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "convstudio"

MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80

#: Modules allowed over MAX_MODULE_LINES (paths relative to convstudio/).
LONG_MODULES = {
    # The fast paths of the convolution share a cost model, a thread pool and their scratch-buffer
    # rules (docs/performance.md); split up, each path would need the others' internals.
    "core/fastpaths.py",
}

#: Functions allowed over MAX_FUNCTION_LINES, as "module/path.py:qualified.name".
LONG_FUNCTIONS = {
    # Winograd F(2x2, 3x3): the input transform, the 16 GEMMs and the output transform work on one
    # block of tiles in place, in an order chosen for the cache (docs/performance.md); cut into
    # helpers, the views and scratch buffers they share would have to be passed around. `task` is
    # that per-block body, run on the thread pool.
    "core/fastpaths.py:_winograd",
    "core/fastpaths.py:_winograd.task",
}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _functions(tree: ast.AST):
    """(qualified name, first line, last line) of every function, nested ones included."""
    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    first = min([child.lineno] + [d.lineno for d in child.decorator_list])
                    yield name, first, child.end_lineno
                yield from walk(child, name + ".")
            else:
                yield from walk(child, prefix)
    yield from walk(tree, "")


def _key(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def test_the_package_is_where_the_test_looks():
    assert len(_modules()) > 50 and (PACKAGE / "core" / "layers.py").is_file()


def test_no_module_is_over_the_limit():
    long = {f"{_key(p)} ({n} lines)" for p in _modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
            and _key(p) not in LONG_MODULES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {sorted(long)}"


def test_no_function_is_over_the_limit():
    long = []
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for name, first, last in _functions(tree):
            key = f"{_key(path)}:{name}"
            if last - first + 1 > MAX_FUNCTION_LINES and key not in LONG_FUNCTIONS:
                long.append(f"{key} ({last - first + 1} lines)")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


@pytest.mark.parametrize("key", sorted(LONG_MODULES | {k.partition(":")[0] for k in LONG_FUNCTIONS}))
def test_every_exception_still_exists(key):
    # An allowance for a module or function that is gone (or now short) must go too.
    assert (PACKAGE / key).is_file(), key


def test_every_function_exception_is_still_needed():
    found = {}
    for key in LONG_FUNCTIONS:
        module, _, name = key.partition(":")
        tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))
        found[key] = next((last - first + 1 for n, first, last in _functions(tree) if n == name), 0)
    stale = {k: n for k, n in found.items() if n <= MAX_FUNCTION_LINES}
    assert not stale, f"allowed long functions that are gone or now short: {stale}"


def test_the_function_counter_measures_what_it_should():
    src = "def f():\n" + "    x = 1\n" * 3 + "\nclass C:\n    @staticmethod\n    def g():\n        def h():\n" \
          "            pass\n        return h\n"
    got = {name: last - first + 1 for name, first, last in _functions(ast.parse(src))}
    assert got == {"f": 4, "C.g": 5, "C.g.h": 2}

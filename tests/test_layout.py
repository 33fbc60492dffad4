"""The package's layout, read from the tree: few modules at the top, no module over 600 lines, a
docstring'd `__init__.py` in every folder, and no import from a floor to a floor above it; the
flat layout's module names still import, as the same module objects.
"""

import ast
import importlib
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "keras_attention")

# The floors of keras_attention/__init__.py's table: a module may import from its own floor
# and the floors below, never above.
FLOORS = {
    "errors": 0,
    "catalog": 0,
    "io": 0,
    "layers": 1,
    "keras_fixes": 1,
    "models": 2,
    "pretrained": 3,
    "explore": 3,
    "formats": 4,
    "training": 5,
    "export": 6,
    "cli": 7,
}


def modules():
    """Every module of the package but the front door (`__init__.py`, `__main__.py`) and the
    flat layout's names (`_moved/`): (path relative to the package, source)."""
    found = []
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            path = os.path.relpath(os.path.join(folder, name), PACKAGE)
            if name.endswith(".py") and not path.startswith("_moved"):
                with open(os.path.join(PACKAGE, path)) as handle:
                    found.append((path, handle.read()))
    return sorted(found)


def imported(source):
    """The package names a module imports (`keras_attention.X.Y`), wherever the import sits,
    and the modules it looks up by name (`importlib.import_module("keras_attention...")`)."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "keras_attention":
                names += [f"keras_attention.{alias.name}" for alias in node.names]
            elif node.module.startswith("keras_attention."):
                names.append(node.module)
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names if a.name.startswith("keras_attention")]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and str(node.args[0].value).startswith("keras_attention.")
        ):
            names.append(node.args[0].value)
    return names


def floor_of(dotted):
    part = dotted.split(".")[1] if "." in dotted else ""
    return FLOORS.get(part)


def test_at_most_eight_modules_at_the_top_and_none_over_600_lines():
    top = sorted(n for n in os.listdir(PACKAGE) if n.endswith(".py"))
    assert len(top) <= 8, top
    long = {path: source.count("\n") for path, source in modules() if source.count("\n") > 600}
    assert not long, long


def test_every_folder_has_an_init_whose_docstring_says_what_it_holds_and_may_import():
    for folder, _, files in os.walk(PACKAGE):
        if "__pycache__" in folder or folder == PACKAGE:
            continue
        if not any(n.endswith(".py") for n in files):
            continue
        init = os.path.join(folder, "__init__.py")
        assert os.path.exists(init), f"{folder} has no __init__.py"
        with open(init) as handle:
            docstring = ast.get_docstring(ast.parse(handle.read())) or ""
        assert len(docstring.split()) >= 12, f"{init}: {docstring!r}"
        assert "import" in docstring, f"{init} does not say what it may import"
        name = os.path.relpath(folder, PACKAGE).split(os.sep)[0]
        if name in FLOORS and os.path.dirname(folder) == PACKAGE:
            assert f"Floor {FLOORS[name]}" in docstring, f"{init} does not name its floor"


def test_no_module_imports_from_a_floor_above_its_own():
    upward = []
    for path, source in modules():
        if path in ("__init__.py", "__main__.py"):
            continue  # the front door: the package's names, from every floor, on first use
        own = FLOORS[path.split(os.sep)[0].removesuffix(".py")]
        for name in imported(source):
            target = floor_of(name)
            # the command line, the top floor, uses the front door's `register()` and version
            front_door = ("keras_attention", "keras_attention.__version__")
            if target is None and own == FLOORS["cli"] and name in front_door:
                continue
            if target is None or target > own:
                upward.append(f"{path} imports {name}")
    # `models.from_preset`, the flat layout's name of `pretrained.presets.from_preset`, is
    # looked up when it is used (models/__init__.py); nothing else looks upwards.
    assert upward == [
        "models/__init__.py imports keras_attention.pretrained.presets",
    ], upward


def test_the_front_door_imports_nothing_above_the_core_when_the_package_is_imported():
    code = (
        "import sys, keras_attention, keras_attention.models, keras_attention.layers;"
        "print(sorted(m for m in sys.modules if m.startswith('keras_attention')))"
    )
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = eval(result.stdout.strip().splitlines()[-1])
    floors = {floor_of(name) for name in loaded if name != "keras_attention"}
    # the optimizers and schedules, which `.keras` files name, are registered at import
    above = [
        n
        for n in loaded
        if (floor_of(n) or 0) > 3
        and n
        not in (
            "keras_attention.training",
            "keras_attention.training.optimizers",
            "keras_attention.training.schedules",
        )
    ]
    assert max(floors) <= 5 and not above, above


@pytest.mark.parametrize(
    "old",
    sorted(
        ast.literal_eval(
            next(
                node.value
                for node in ast.parse(open(os.path.join(PACKAGE, "__init__.py")).read()).body
                if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "MOVED"
            )
        ).items()
    ),
    ids=lambda item: item[0],
)
def test_the_flat_layouts_names_import_as_the_same_modules(old):
    name, new = old
    import keras_attention

    moved = importlib.import_module(f"keras_attention.{name}")
    assert moved is importlib.import_module(new)
    assert getattr(keras_attention, name) is moved
    assert sys.modules[f"keras_attention.{name}"] is moved

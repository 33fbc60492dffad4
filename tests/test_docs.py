"""The documentation site builds without a warning, and the API reference renders every public
name with its docstring.

`mkdocs build --strict` (mkdocs.yml) turns every warning into an error: a broken link between
pages, a missing anchor, a `:::` reference to a name that does not exist, a docstring griffe
cannot parse. The site is built once per test session into a temporary folder.
"""

import ast
import glob
import importlib
import os
import re
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
API = os.path.join(DOCS, "api")


def submodules():
    """`keras_attention._SUBMODULES`, read from the source: the public modules."""
    with open(os.path.join(ROOT, "keras_attention", "__init__.py")) as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", None) == "_SUBMODULES" for t in node.targets
        ):
            return tuple(ast.literal_eval(node.value))
    raise AssertionError("keras_attention/__init__.py defines no _SUBMODULES")


MODULES = submodules()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site, built strictly into a temporary folder; the build's time and output."""
    pytest.importorskip("mkdocs", reason="the docs extra is not installed")
    folder = tmp_path_factory.mktemp("site")
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )
    seconds = time.perf_counter() - start
    assert result.returncode == 0, result.stdout + result.stderr
    return folder, seconds, result.stdout + result.stderr


def test_the_site_builds_strictly(site):
    folder, seconds, output = site
    assert "WARNING" not in output, output
    assert os.path.exists(os.path.join(folder, "index.html"))
    assert seconds < 120, f"the documentation took {seconds:.0f} s to build"


def test_every_page_is_in_the_nav_and_the_notebooks_are_rendered(site):
    """A page left out of the nav would build but be found by nobody; each notebook in
    notebooks/ is a page of the site, with its stored figures."""
    folder = site[0]
    with open(os.path.join(ROOT, "mkdocs.yml")) as handle:
        config = handle.read()
    pages = sorted(
        os.path.relpath(p, DOCS).replace(os.sep, "/")
        for p in glob.glob(os.path.join(DOCS, "**", "*.md"), recursive=True)
    )
    for page in pages:
        assert re.search(rf"(^|\s){re.escape(page)}\s*$", config, re.M), f"{page} is not in nav"
    notebooks = sorted(glob.glob(os.path.join(ROOT, "notebooks", "*.ipynb")))
    assert len(notebooks) == 8
    for path in notebooks:
        name = os.path.splitext(os.path.basename(path))[0]
        assert f"notebooks/{name}.ipynb" in config, f"{name} is not in nav"
        with open(os.path.join(folder, "notebooks", name, "index.html")) as handle:
            html = handle.read()
        assert "jp-Notebook" in html, name
        if name != "01_quickstart":  # every notebook but the first stores a figure
            assert "data:image/png;base64," in html, name


def public_names(module):
    """The names a module's API page must render: its `__all__` where it has one, else every
    class and function it defines without a leading underscore (griffe's view, the one
    mkdocstrings renders)."""
    names = []
    for name, member in module.members.items():
        if module.exports is not None:
            if name in module.exports:
                names.append(name)
        elif (
            member.is_public
            and not member.is_alias
            and member.kind.value
            in (
                "class",
                "function",
            )
        ):
            names.append(name)
    return names


@pytest.fixture(scope="module")
def package():
    griffe = pytest.importorskip("griffe", reason="the docs extra is not installed")
    return griffe.load("keras_attention", search_paths=[ROOT], docstring_parser="google")


@pytest.mark.parametrize("module", ["layers", "models"])
def test_all_of_layers_and_models_is_what_the_docs_check(module, package):
    """griffe reads `__all__` from the source; the imported module has the same."""
    imported = importlib.import_module(f"keras_attention.{module}")
    assert sorted(package[module].exports) == sorted(imported.__all__)


@pytest.mark.parametrize("module", MODULES)
def test_every_public_name_has_a_docstring_and_is_rendered(module, package, site):
    page = os.path.join(API, f"{module}.md")
    assert os.path.exists(page), f"keras_attention.{module} has no API page (docs/api/)"
    with open(page) as handle:
        assert f"::: keras_attention.{module}" in handle.read()
    griffe_module = package[module]
    assert griffe_module.docstring and griffe_module.docstring.value.strip(), module
    with open(os.path.join(site[0], "api", module, "index.html")) as handle:
        html = handle.read()
    anchors = set(re.findall(r'id="(keras_attention\.[\w.]+)"', html))
    names = public_names(griffe_module)
    assert names, module
    undocumented, unrendered = [], []
    for name in names:
        member = griffe_module[name]
        if member.is_module and name in member.members:
            # griffe takes `models.resnet` for the module `models/resnet.py`; the package
            # exports the function `resnet` of that module.
            member = member[name]
        docstring = member.docstring.value.strip() if member.docstring else ""
        if not docstring:
            undocumented.append(name)
        # Rendered at its public path, or at its defining module's path where griffe takes the
        # name for a submodule's (`layers.batch_normalization`, the function and the module).
        if not any(
            a == f"keras_attention.{module}.{name}" or a.endswith(f".{name}.{name}")
            for a in anchors
        ):
            unrendered.append(name)
    assert not undocumented, f"keras_attention.{module}: no docstring: {undocumented}"
    assert not unrendered, f"keras_attention.{module}: not on docs/api/{module}.md: {unrendered}"


def test_the_top_level_names_are_documented(package, site):
    with open(os.path.join(site[0], "api", "package", "index.html")) as handle:
        html = handle.read()
    assert 'id="keras_attention.register"' in html
    for target in ("profiling.profile", "profiling.Profile", "runs.load_run"):
        assert f"#keras_attention.{target}" in html, target
    assert package["register"].docstring.value.strip()


def test_the_readme_links_every_guide_page():
    with open(os.path.join(ROOT, "README.md")) as handle:
        readme = handle.read()
    for page in sorted(glob.glob(os.path.join(DOCS, "*.md"))):
        link = f"docs/{os.path.basename(page)}"
        assert f"]({link}" in readme, f"README.md does not link {link}"
    assert "](docs/api/index.md)" in readme
    assert 'pip install -e ".[docs]"' in readme and "mkdocs serve" in readme

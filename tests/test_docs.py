"""The documentation site builds without a warning, and the API reference renders every public
name with its docstring.

`mkdocs build --strict` (mkdocs.yml) turns every warning into an error: a broken link between
pages, a missing anchor, a `:::` reference to a name that does not exist, a docstring griffe
cannot parse. The site is built once per test session into a temporary folder.
"""

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


# The folders of the package, one API page each (docs/api/FOLDER.md); the root's modules
# (`errors`, `keras_fixes`) are on the package's page.
FOLDERS = (
    "catalog",
    "io",
    "layers",
    "models",
    "pretrained",
    "explore",
    "formats",
    "training",
    "export",
    "cli",
)


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
        if name.startswith("__"):
            continue  # a module's `__getattr__` (names imported on first use) is no API name
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


def documented_units(module):
    """The modules whose public names a folder's page renders: a package with `__all__` (the
    layers, the models) stands for its modules; any other package is documented module by
    module, its sub-packages too."""
    if module.exports is not None:
        return [module]
    units = [module]
    for name, member in sorted(module.modules.items()):
        if not name.startswith("_") and not member.is_alias:
            units += documented_units(member)
    return units


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_public_name_has_a_docstring_and_is_rendered(folder, package, site):
    page = os.path.join(API, f"{folder}.md")
    assert os.path.exists(page), f"keras_attention.{folder} has no API page (docs/api/)"
    with open(page) as handle:
        text = handle.read()
    with open(os.path.join(site[0], "api", folder, "index.html")) as handle:
        html = handle.read()
    anchors = set(re.findall(r'id="(keras_attention\.[\w.]+)"', html))
    undocumented, unrendered, missing = [], [], []
    for unit in documented_units(package[folder]):
        assert unit.docstring and unit.docstring.value.strip(), unit.path
        if f"::: {unit.path}\n" not in text:
            missing.append(unit.path)
            continue
        for name in public_names(unit):
            member = unit[name]
            if member.is_module and name in member.members:
                # griffe takes `models.resnet` for the module `models/resnet.py`; the package
                # exports the function `resnet` of that module.
                member = member[name]
            docstring = member.docstring.value.strip() if member.docstring else ""
            if not docstring:
                undocumented.append(f"{unit.path}.{name}")
            # Rendered at its public path, or at its defining module's path where griffe takes
            # the name for a submodule's (`layers.batch_normalization`, function and module).
            if not any(
                a == f"{unit.path}.{name}" or a.endswith(f".{name}.{name}") for a in anchors
            ):
                unrendered.append(f"{unit.path}.{name}")
    assert not missing, f"docs/api/{folder}.md lacks ::: for {missing}"
    assert not undocumented, f"no docstring: {undocumented}"
    assert not unrendered, f"not on docs/api/{folder}.md: {unrendered}"


def test_every_folder_has_a_page():
    folders = sorted(
        name
        for name in os.listdir(os.path.join(ROOT, "keras_attention"))
        if not name.startswith("_")
        and os.path.exists(os.path.join(ROOT, "keras_attention", name, "__init__.py"))
    )
    assert folders == sorted(FOLDERS)


def test_the_top_level_names_are_documented(package, site):
    with open(os.path.join(site[0], "api", "package", "index.html")) as handle:
        html = handle.read()
    assert 'id="keras_attention.register"' in html
    for target in (
        "explore.profiling.profile",
        "explore.profiling.Profile",
        "export.runs.load_run",
        "pretrained.presets.from_preset",
    ):
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

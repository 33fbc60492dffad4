"""The README's Python examples run as written."""

import os
import re

import numpy as np
import pytest

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")
with open(README) as handle:
    EXAMPLES = re.findall(r"```python\n(.*?)```", handle.read(), re.S)


def test_readme_has_examples():
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_readme_example_runs(index):
    namespace = {}
    exec(compile(EXAMPLES[index], f"README example {index + 1}", "exec"), namespace)
    model = namespace["model"]
    outputs = model(np.zeros((1, *model.input_shape[1:]), "float32"))
    assert all(
        np.all(np.isfinite(np.asarray(o)))
        for o in (outputs if isinstance(outputs, list) else [outputs])
    )


def test_ci_runs_the_readme_test_command():
    with open(README) as handle:
        readme = handle.read()
    with open(os.path.join(os.path.dirname(README), ".ci", "run")) as handle:
        ci = handle.read()
    command = ci.strip().splitlines()[-1]
    assert command.startswith("python3 -m venv .venv-test") and command in readme


def test_readme_links_resolve_inside_the_repository():
    with open(README) as handle:
        readme = handle.read()
    links = re.findall(r"\]\(([^)#]+)\)", readme)
    assert "docs/blocks.md" in links and "../shared" not in readme
    root = os.path.dirname(README)
    for link in links:
        if not link.startswith("http"):
            assert os.path.exists(os.path.join(root, link)), link

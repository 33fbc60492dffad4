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

"""The layer and model-factory tests on the JAX and PyTorch backends.

A Keras backend is chosen once per process, so each backend runs the tests marked
`any_backend` (numerics against the NumPy references, shapes, serialization round trips, a fit
step) in a pytest process of its own; the tests that only count weights of large models
(`slow`) are left to the default backend. Training, search and export are TensorFlow-only.
"""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = ("tests/test_layer_numerics.py", "tests/test_layer_behaviour.py", "tests/test_models.py")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_layer_and_factory_tests_pass_on_backend(backend):
    environment = dict(os.environ, KERAS_BACKEND=backend, PYTHONUNBUFFERED="1")
    environment.pop("PYTEST_XDIST_WORKER", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-m",
            "any_backend and not slow",
            *FILES,
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    print(f"{backend}: {summary}")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert " passed" in summary and "failed" not in summary and "error" not in summary

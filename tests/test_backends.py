"""The layer and model-factory tests on the PyTorch backend, and how they run on any backend.

A Keras backend is chosen once per process, so a backend runs the tests marked `any_backend`
(numerics against the NumPy references, shapes, serialization round trips, a fit step) in a
pytest process of its own; the tests that only count weights of large models (`slow`) are left
to the default backend. Training, search and export are TensorFlow-only. The JAX run is
test_packaging.py's: there the tests run in a fresh environment holding the wheel, JAX and
pytest only, the core install as users get it.
"""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = ("tests/test_layer_numerics.py", "tests/test_layer_behaviour.py", "tests/test_models.py")


def run_backend_tests(python, backend, cwd):
    """Runs the tests marked `any_backend` of FILES with `python` on `backend` in a pytest
    process of its own, from `cwd` (where `python -m` looks for modules first: the repository's
    root imports this checkout, another folder the package that `python`'s environment holds)."""
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PYTEST", "VIRTUAL"))
    }
    environment.update(KERAS_BACKEND=backend, PYTHONUNBUFFERED="1")
    result = subprocess.run(
        [
            python,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            ROOT,
            "-m",
            "any_backend and not slow",
            *(os.path.join(ROOT, name) for name in FILES),
        ],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    print(f"{backend}: {summary}")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert " passed" in summary and "failed" not in summary and "error" not in summary


@pytest.mark.slow
def test_layer_and_factory_tests_pass_on_torch():
    run_backend_tests(sys.executable, "torch", ROOT)

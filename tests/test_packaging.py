"""The package as users install it: the wheel's contents, and the light core on JAX."""

import os
import subprocess
import sys
import zipfile

import pytest
from test_backends import run_backend_tests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), ROOT],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (path,) = out.glob("*.whl")
    return path


@pytest.mark.slow
def test_wheel_has_a_free_name_a_command_and_a_license(wheel):
    assert wheel.name.startswith("keras_cnn_attention-")
    names = zipfile.ZipFile(wheel).namelist()
    assert "keras_attention/__main__.py" in names and "keras_attention/cli/startup.py" in names
    # every folder of the layout and the data files travel; the flat layout's names too
    for name in ("pretrained/presets.json", "training/data/sources.py", "_moved/config.py"):
        assert f"keras_attention/{name}" in names, name
    assert "keras_attention/py.typed" in names
    assert any(n.endswith("licenses/LICENSE") for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "keras-attention = keras_attention.cli:main" in text
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA")))
    metadata = metadata.decode()
    core = [
        line
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    ]
    assert sorted(line.split()[1].split(">")[0].split("<")[0] for line in core) == [
        "keras",
        "numpy",
    ]
    assert "Provides-Extra: train" in metadata and "Provides-Extra: test" in metadata


CORE_SCRIPT = """
import sys
import keras
import keras_attention as ka
assert keras.backend.backend() == "jax", keras.backend.backend()
assert "site-packages" in ka.__file__, ka.__file__  # the wheel, not the checkout
print(ka.profile(ka.models.resnet(50, "ssa")).trainable_params)
loaded = [m for m in sys.modules if m == "tensorflow" or m.startswith("tensorflow.")]
assert not loaded, loaded
print("core ok")
"""


@pytest.mark.slow
def test_core_install_on_jax_needs_no_tensorflow(wheel, tmp_path):
    """A fresh virtual environment with the wheel, JAX and pytest only: the layer and factory
    tests marked `any_backend` pass there on JAX (every block's numerics and behaviour, every
    block in a factory, their fit steps: `test_backends.FILES`), `profile` counts, and
    TensorFlow, which is not installed, is never imported."""
    # Nothing of this process's environment reaches the new one (a PYTHONPATH to a checkout
    # would make pip take the package as installed).
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PYTEST", "VIRTUAL"))
    }
    environment["KERAS_BACKEND"] = "jax"
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = str(venv / "bin" / "python")
    subprocess.run(
        [python, "-m", "pip", "install", "-q", str(wheel), "jax>=0.5,<0.11", "pytest>=8,<10"],
        check=True,
        capture_output=True,
        env=environment,
        timeout=900,
    )
    installed = subprocess.run(
        [python, "-m", "pip", "list", "--format=freeze"],
        check=True,
        capture_output=True,
        env=environment,
        text=True,
    ).stdout.lower()
    assert "tensorflow" not in installed and "keras-cnn-attention" in installed
    result = subprocess.run(
        [python, "-c", CORE_SCRIPT],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "25557064" in result.stdout and "core ok" in result.stdout
    # Run from tmp_path, the tests import the wheel's package, not the checkout's.
    run_backend_tests(python, "jax", tmp_path)
    # The command line lists what exists without TensorFlow; training says what it needs.
    listed = subprocess.run(
        [python, "-m", "keras_attention", "list", "blocks"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert listed.returncode == 0 and "coord" in listed.stdout
    refused = subprocess.run(
        [python, "-m", "keras_attention", "train"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert refused.returncode == 2
    assert "needs the TensorFlow backend" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1

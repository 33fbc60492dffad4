"""The package as users install it: the wheel's contents, and the light core on JAX."""

import os
import subprocess
import sys
import zipfile

import pytest

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
import numpy as np
import keras
import keras_attention as ka
assert keras.backend.backend() == "jax", keras.backend.backend()
x = np.random.rand(2, 16, 16, 3).astype("float32")
for block in ka.layers.names():
    model = ka.models.cifar_resnet(
        8, block, input_shape=(16, 16, 3),
        attention_kwargs={"groups": 8} if block == "sge" else None,
    )
    assert np.isfinite(model.predict(x, verbose=0)).all(), block  # compiled: faster on JAX
    if block in ("se", "ssa", "spem"):  # the papers' blocks also take a compiled fit step
        model.compile(
            optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        )
        assert np.isfinite(model.train_on_batch(x, np.array([1, 2]))), block
print(ka.profile(ka.models.resnet(50, "ssa")).trainable_params)
loaded = [m for m in sys.modules if m == "tensorflow" or m.startswith("tensorflow.")]
assert not loaded, loaded
print("core ok")
"""


@pytest.mark.slow
def test_core_install_on_jax_needs_no_tensorflow(wheel, tmp_path):
    """A fresh virtual environment with the wheel and JAX only: every block runs in a CIFAR
    ResNet-8 (a block per stage) and the papers' blocks take a fit step (every block's fit
    step on JAX is in test_backends.py), `profile` counts, and TensorFlow is never imported."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = str(venv / "bin" / "python")
    subprocess.run(
        [python, "-m", "pip", "install", "-q", str(wheel), "jax>=0.5,<0.11"],
        check=True,
        capture_output=True,
        timeout=900,
    )
    installed = subprocess.run(
        [python, "-m", "pip", "list", "--format=freeze"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.lower()
    assert "tensorflow" not in installed and "keras-cnn-attention" in installed
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PYTEST", "VIRTUAL"))
    }
    environment["KERAS_BACKEND"] = "jax"
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

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


def _seed_all_but_tensorflow(monkeypatch, seed=0):
    """`keras.utils.set_random_seed(seed)` (Python, NumPy, Keras' seed generators) without
    TensorFlow's global seed, which is set once per process below: `tf.random.set_seed` also
    clears TensorFlow's eager kernel cache, and every test after it would build again the kernel
    of each op it runs (a fifth of the fast tests' time). Keras' initializers and
    `keras.random` draw from Keras' own seed generator, which this resets for every test."""
    tensorflow = sys.modules.get("tensorflow")
    with monkeypatch.context() as patch:
        if tensorflow is not None:
            patch.setattr(tensorflow.random, "set_seed", lambda seed: None)
        keras.utils.set_random_seed(seed)


keras.utils.set_random_seed(0)


@pytest.fixture(autouse=True)
def _fresh_keras_state(tmp_path, monkeypatch):
    """Each test starts with the default dtype policy and a fixed seed, and keeps what it
    caches (the image-folder checks) in its own folder, so parallel tests share nothing."""
    monkeypatch.setenv("KERAS_ATTENTION_CACHE", str(tmp_path / "keras_attention_cache"))
    keras.config.set_dtype_policy("float32")
    _seed_all_but_tensorflow(monkeypatch)
    yield
    keras.config.set_dtype_policy("float32")


def to_numpy(value):
    """A backend tensor (or variable) as a NumPy array, on every Keras backend."""
    return keras.ops.convert_to_numpy(value)


def _randomize(layer, seed=0):
    rng = np.random.default_rng(seed)
    for weight in layer.weights:
        shape = tuple(weight.shape)
        if "variance" in weight.path:
            value = rng.uniform(0.5, 2.0, shape)
        else:
            value = rng.normal(0.0, 0.5, shape)
        weight.assign(value.astype(weight.dtype))
    return layer


@pytest.fixture
def randomize_weights():
    """Sets every weight of a built layer to non-trivial values (variances stay positive)."""
    return _randomize


def pytest_terminal_summary(terminalreporter):
    """The size of the bad-input corpus and the fault (kill) tests, in every run's output."""
    reports = [
        report
        for outcome in ("passed", "failed")
        for report in terminalreporter.stats.get(outcome, [])
        if getattr(report, "when", None) == "call"
    ]
    corpus = [r for r in reports if "test_bad_inputs.py" in r.nodeid]
    kills = [r for r in reports if "kill" in r.nodeid.split("::")[-1]]
    if corpus:
        passed = sum(r.passed for r in corpus)
        terminalreporter.write_line(
            f"bad-input corpus (tests/test_bad_inputs.py): {passed} of {len(corpus)} cases pass"
        )
    for report in kills:
        outcome = "passed" if report.passed else "FAILED"
        terminalreporter.write_line(f"kill test {outcome}: {report.nodeid}")


# The tests that take minutes each (a backend's whole layer suite in a process of its own, the
# notebooks), longest first. pytest-xdist hands tests to its workers in collection order; started
# last, one of them would keep a worker busy for minutes after the other has finished.
LONGEST_FIRST = (
    "tests/test_packaging.py::test_core_install_on_jax_needs_no_tensorflow",
    "tests/test_notebooks.py::test_notebook_runs_and_gives_its_stored_results[08_efficientnet",
    "tests/test_notebooks.py",
    "tests/test_backends.py",
)


def pytest_collection_modifyitems(items):
    def rank(item):
        nodeid = item.nodeid
        return next((i for i, p in enumerate(LONGEST_FIRST) if nodeid.startswith(p)), None)

    ranked = [(rank(item), index, item) for index, item in enumerate(items)]
    first = sorted((r, i, item) for r, i, item in ranked if r is not None)
    items[:] = [item for *_, item in first] + [item for r, _, item in ranked if r is None]

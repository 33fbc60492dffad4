"""Every notebook in notebooks/ runs from top to bottom without an error, offline.

The notebooks are stored with their outputs; `python tests/test_notebooks.py` executes them
again and stores the new outputs (each file stays under 1 MB), with the machine they ran on.
"""

import glob
import importlib.metadata
import os
import platform
import re
import sys
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = sorted(glob.glob(os.path.join(ROOT, "notebooks", "*.ipynb")))


def execute(path, cwd, timeout=600):
    """Runs the notebook at `path` in a fresh kernel with `cwd` as its working folder and
    returns the executed notebook; a cell that raises fails with its traceback."""
    import nbformat
    from nbclient import NotebookClient

    book = nbformat.read(path, as_version=4)
    NotebookClient(
        book,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": cwd}},
        # The kernel is done with once its cells have run: stopped at once, not asked to
        # exit and waited for while TensorFlow tears down (1.5 to 2 s per notebook).
        shutdown_kernel="immediate",
    ).execute()
    return book


# The vector instructions TensorFlow's and oneDNN's CPU kernels choose between: each choice
# sums in another order, so the last bits of a training step differ from one CPU to another.
VECTOR_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "avx_vnni")


def machine():
    """What a notebook's trained numbers depend on besides its code and seed: the CPU model,
    its vector instructions, and the versions of the numeric libraries."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    versions = []
    for name in ("tensorflow", "keras", "numpy"):
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} none")
    vector = "+".join(f for f in VECTOR_FLAGS if f in flags) or "none"
    return f"{model}; {vector}; {', '.join(versions)}"


def numbers_masked(lines):
    """The result lines with their numbers masked, but for parameter counts: what a run on
    another machine must still show (the same results in the same order, the same parameter
    counts); its accuracies and a briefly trained model's predictions may differ."""
    return [
        line if "parameters" in line else re.sub(r"\d[\d,]*(\.\d+)?(e[-+]?\d+)?", "X", line)
        for line in lines
    ]


def test_the_eight_notebooks_exist():
    names = [os.path.basename(p) for p in NOTEBOOKS]
    assert names == [
        "01_quickstart.ipynb",
        "02_attention_maps.ipynb",
        "03_compare_blocks.ipynb",
        "04_attach_to_pretrained.ipynb",
        "05_export_and_deploy.ipynb",
        "06_search_se_r.ipynb",
        "07_pretrained.ipynb",
        "08_efficientnet_blocks.ipynb",
    ]
    for path in NOTEBOOKS:
        assert os.path.getsize(path) < 1_000_000, path


def results(book):
    """The lines of a notebook's printed output that state a result (accuracies, predictions,
    the best trial, parameter counts), with what varies from run to run on the same machine
    (throughput, durations, temporary paths, float32 round-off of exports) masked."""
    lines = []
    for cell in book.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.get("output_type") != "stream" or output.get("name") != "stdout":
                continue
            for line in output["text"].splitlines():
                if re.search(r"accuracy|predicts|best|parameters|trained:|tuned:", line):
                    line = re.sub(r"[\d,.]+ images/s", "N images/s", line)
                    line = re.sub(r"\|diff\| \S+", "|diff| D", line)  # float32 round-off
                    line = re.sub(r"\d+ (h|min|s)\b( \d+ (min|s)\b)?", "T", line)  # durations
                    lines.append(re.sub(r"/tmp/\S+", "TMP", line))
    return lines


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_notebook_runs_and_gives_its_stored_results(path, tmp_path):
    import nbformat

    stored_book = nbformat.read(path, as_version=4)
    stored = results(stored_book)
    assert stored, "the notebook states no result to check"
    book = execute(path, str(tmp_path))
    # Re-executed on the machine it was stored on, a notebook shows what it is stored with:
    # the same seed, the same run. On another CPU or library version a short training run
    # ends elsewhere in its last bits, and then in its printed decimals (TensorFlow does not
    # promise the same float results across CPUs), so there the same result lines must appear
    # with their numbers masked.
    if stored_book.metadata.get("keras_attention", {}).get("machine") == machine():
        assert results(book) == stored
    else:
        assert numbers_masked(results(book)) == numbers_masked(stored)
    errors = [
        output
        for cell in book.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors
    # Stored notebooks show their figures: each has at least one image, except the first.
    images = [
        output
        for cell in book.cells
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    assert images or os.path.basename(path) == "01_quickstart.ipynb"


if __name__ == "__main__":
    import nbformat

    for path in sys.argv[1:] or NOTEBOOKS:
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as folder:
            book = execute(path, folder)
        book.metadata["keras_attention"] = {"machine": machine()}
        nbformat.write(book, path)
        size = os.path.getsize(path)
        print(f"{os.path.basename(path)}: {time.perf_counter() - start:.0f} s, {size:,} bytes")

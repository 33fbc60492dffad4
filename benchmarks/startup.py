"""How long the command line takes to answer what needs no backend, beside `python -c pass`.

`keras-attention --help`, `--version`, `list`, a usage error (`--attention sse`) and a name
check of `tune` answer before Keras or TensorFlow is imported. This runs each as a fresh
process, in rotating order, for a number of rounds, and prints the median wall time of each
and its ratio to `python -c pass` measured in the same rounds; the last column says whether
the process imported Keras or TensorFlow (from `-X importtime`, in one extra run).

This is a benchmark, not a test. Example:

    python benchmarks/startup.py --rounds 15
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def commands():
    beside = os.path.join(os.path.dirname(sys.executable), "keras-attention")
    script = beside if os.path.exists(beside) else shutil.which("keras-attention")
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "--help": [script, "--help"],
        "--version": [script, "--version"],
        "list": [script, "list"],
        "usage error (--attention sse)": [script, "--attention", "sse"],
        "tune --fix attention=sse": [script, "tune", "--fix", "attention=sse"],
    }


def wall_time(command):
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - start


def imports_a_backend(command):
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ, PYTHONPROFILEIMPORTTIME="1"),
    )
    modules = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    return sorted({m for m in modules if m in ("keras", "tensorflow", "jax", "torch")})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)
    candidates = commands()
    names = list(candidates)
    times = {name: [] for name in names}
    for r in range(args.rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            times[name].append(wall_time(candidates[name]))
    base = statistics.median(times["python -c pass"])
    print(f"start-up, median of {args.rounds} rounds (fresh processes, rotating order)")
    print("| command | wall time (s) | / python -c pass | imports |")
    print("| --- | --- | --- | --- |")
    for name in names:
        median = statistics.median(times[name])
        imported = ", ".join(imports_a_backend(candidates[name])) or "no backend"
        print(f"| {name} | {median:.3f} | {median / base:.1f} | {imported} |")


if __name__ == "__main__":
    main()

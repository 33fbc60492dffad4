"""Prints file size and parity of every export format for the papers' networks, or, with
`--blocks`, each block's test accuracy, size and invoke time per TFLite mode.

    python benchmarks/export_table.py            # the papers' configurations
    python benchmarks/export_table.py --small    # small versions, in about a minute
    python benchmarks/export_table.py --blocks   # every block, trained on the digits (~15 min)

Without `--blocks`, weights are as initialised (no pretrained weights can be had offline) and
inputs are random, so the differences measure the conversion, not a trained model's accuracy.
`--blocks` trains `cifar_resnet8` with each registered block on the bundled digits (8 epochs,
the `digits` recipe), exports it as float32 and full-int8 TFLite (`export_run`, 200
calibration images) and scores each file on the 360 test images; the invoke times are LiteRT's
at batch 1 on two threads with its default XNNPACK delegate (or its built-in kernels where
XNNPACK declines a model, starred), the files interleaved, medians of `--repeats`.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from keras_attention import export, layers, models  # noqa: E402

BLOCK_MODES = ("float32", "full_int8")
# SGE's default 64 groups need 64 channels; ResNet-8's first stage has 16.
BLOCK_KWARGS = {"sge": {"groups": 4}}


def networks(small):
    if small:
        return {
            "SE-ResNet-20 (CIFAR)": lambda: models.cifar_resnet(20, "se"),
            "SSA-ResNet-20 (CIFAR)": lambda: models.cifar_resnet(20, "ssa"),
            "SPEM-ResNet-20 (CIFAR)": lambda: models.cifar_resnet(20, "spem"),
            "SE-R-ResNet-18 (CIFAR-100)": lambda: models.inference_model(
                models.cifar_se_resnet(18, aux_positions=(2, 3))
            ),
            "MobileNetV2 0.35 (96x96)": lambda: models.mobilenet_v2(0.35, input_shape=(96, 96, 3)),
        }
    return {
        "SE-ResNet-50 (ImageNet, r=16)": lambda: models.resnet(50, "se"),
        "SSA-ResNet-50 (ImageNet)": lambda: models.resnet(50, "ssa"),
        "SPEM-ResNet-164 (CIFAR-10)": lambda: models.cifar_resnet(164, "spem"),
        "SE-R-ResNet-50 (CIFAR-100)": lambda: models.inference_model(
            models.cifar_se_resnet(50, aux_positions=(2, 3))
        ),
        "MobileNetV2 1.0 (224x224)": lambda: models.mobilenet_v2(1.0),
    }


def batch1(content):
    """LiteRT at batch 1 on two threads: with its XNNPACK delegate, or, where XNNPACK declines
    the model while preparing it (some int8 graphs), on the built-in kernels alone; the
    interpreter's `runtime` says which."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    try:
        if export.xnnpack_aborts(content):  # it would take this process with it
            raise RuntimeError("XNNPACK aborts preparing it")
        interpreter = export.batch1_interpreter(content, num_threads=2)
        interpreter.runtime = "xnnpack"
    except RuntimeError as error:
        if "XNNPACK" not in str(error):
            raise
        interpreter = Interpreter(
            model_content=content,
            num_threads=2,
            experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        )
        source = interpreter.get_input_details()[0]
        interpreter.resize_tensor_input(source["index"], [1, *source["shape"][1:]])
        interpreter.allocate_tensors()
        interpreter.runtime = "builtin"
    return interpreter


def invoke_milliseconds(paths, repeats):
    """`{path: median invoke milliseconds}` at batch 1, two threads, the files interleaved."""
    interpreters = {}
    for path in paths:
        with open(path, "rb") as handle:
            interpreter = batch1(handle.read())
        source = interpreter.get_input_details()[0]
        interpreter.set_tensor(source["index"], np.zeros(source["shape"], source["dtype"]))
        interpreter.invoke()  # the first invoke prepares the delegate's kernels
        interpreters[path] = interpreter
    times = {path: [] for path in paths}
    for _ in range(repeats):
        for path, interpreter in interpreters.items():
            started = time.perf_counter()
            interpreter.invoke()
            times[path].append(1e3 * (time.perf_counter() - started))
    return {
        path: (statistics.median(values), interpreters[path].runtime)
        for path, values in times.items()
    }


def timing(milliseconds, runtime):
    """An invoke time, starred where XNNPACK declined the model (built-in kernels)."""
    return f"{milliseconds:.3f}" + ("*" if runtime != "xnnpack" else "")


def block_table(blocks, epochs, repeats):
    """Trains `cifar_resnet8` with each block on the digits and prints one row per block."""
    from keras_attention.training import TrainConfig, train

    others = BLOCK_MODES[1:]
    print(
        f"| block | {BLOCK_MODES[0]} accuracy | "
        + "".join(f"{mode} (points) | " for mode in others)
        + f"size KB ({' / '.join(BLOCK_MODES)}) | invoke ms ({' / '.join(BLOCK_MODES)}) |"
    )
    print("|" + " --- |" * (4 + len(others)))
    for block in blocks:
        with tempfile.TemporaryDirectory() as directory:
            config = TrainConfig(
                model="cifar_resnet8",
                attention=block,
                attention_kwargs=BLOCK_KWARGS.get(block, {}),
                dataset="digits",
                recipe="digits",
                epochs=epochs,
                output_dir=directory,
                verbose=0,
            )
            train(config)
            result = export.export_run(
                directory, modes=BLOCK_MODES, formats=("tflite",), allow_degraded=True
            )
            files = {r["format"]: r["path"] for r in result["reports"]}
            sizes = {r["format"]: r["size_bytes"] / 1e3 for r in result["reports"]}
            names = [f"tflite_{mode}" for mode in BLOCK_MODES]
            speed = invoke_milliseconds([files[n] for n in names], repeats)
        accuracy = result["test_accuracy"]
        base = accuracy["tflite_float32"]
        points = [f"{accuracy[n]:.3f} ({100 * (accuracy[n] - base):+.1f})" for n in names[1:]]
        print(
            f"| {block} | {base:.3f} | {' | '.join(points)} | "
            f"{' / '.join(f'{sizes[n]:.0f}' for n in names)} | "
            f"{' / '.join(timing(*speed[files[n]]) for n in names)} |",
            flush=True,
        )
    print(
        "\n*: XNNPACK declined the model (or aborted the process) preparing it; LiteRT's "
        "built-in kernels ran it."
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--blocks", nargs="?", const="all", help="all, or comma-separated names")
    parser.add_argument("--epochs", type=int, default=8, help="with --blocks")
    parser.add_argument("--repeats", type=int, default=200, help="invokes per file, --blocks")
    args = parser.parse_args(argv)
    if args.blocks:
        names = layers.names() if args.blocks == "all" else args.blocks.split(",")
        block_table(names, args.epochs, args.repeats)
        return 0
    rng = np.random.default_rng(0)
    print("| network | format | size (MB) | max abs diff | TFLite ops |")
    print("| --- | --- | --- | --- | --- |")
    for name, make in networks(args.small).items():
        model = make()
        shape = model.input_shape[1:]
        inputs = rng.random((8, *shape), dtype="float32")
        representative = list(rng.random((32, *shape), dtype="float32"))
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as directory:
            reports = export.export_all(model, directory, inputs, representative)
        for report in reports:
            print(
                f"| {name} | {report.format} | {report.size_bytes / 1e6:.2f} | "
                f"{report.max_abs_diff:.2g} | {len(report.ops) or ''} |",
                flush=True,
            )
        print(f"| {name} | (all formats, seconds) | | | {time.perf_counter() - started:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Prints file size and parity of every export format for the papers' networks.

    python benchmarks/export_table.py            # the papers' configurations
    python benchmarks/export_table.py --small    # small versions, in about a minute

Weights are as initialised (no pretrained weights can be had offline) and inputs are random, so
the differences measure the conversion, not a trained model's accuracy; `train_keras.py export`
measures a trained run's test accuracy per format.
"""

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from keras_attention import export, models  # noqa: E402


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true")
    args = parser.parse_args(argv)
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

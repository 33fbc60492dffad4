"""What overflow-safe spatial statistics cost against Keras' plain `ops.moments`.

SRM, SGE and SimAM need each channel's mean and variance over the spatial axes. `ops.moments`
squares `x - mean`, which overflows to inf (and NaN downstream) for finite float32 values beyond
about 1.8e19. `keras_attention.layers.pooling.spatial_moments` takes plain two-pass moments
(reducing over the height, then the width) and, only where they are not finite, the safe ones
(`_safe_moments`: each channel divided by its largest magnitude first, more passes), which are
timed here too, as the converters' form always takes them. On ResNet-50's four stage shapes
(batch 8), each a `tf.function`, in rotating order; the median time per call, with a global
average pool for scale.

This is a benchmark, not a test. Example:

    python benchmarks/moments.py --rounds 15
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import ops  # noqa: E402

from keras_attention.layers.pooling import _safe_moments, spatial_moments  # noqa: E402

SHAPES = [(8, 56, 56, 256), (8, 28, 28, 512), (8, 14, 14, 1024), (8, 7, 7, 2048)]
CANDIDATES = {
    "average pool": lambda x: ops.mean(x, axis=(1, 2)),
    "ops.moments": lambda x: ops.moments(x, axes=(1, 2)),
    "spatial_moments": spatial_moments,
    "safe moments": lambda x: _safe_moments(x, "channels_last"),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=3, help="calls per candidate and round")
    args = parser.parse_args(argv)
    functions = {name: tf.function(f) for name, f in CANDIDATES.items()}
    names = list(functions)
    print("| shape | " + " | ".join(f"{n} (ms)" for n in names) + " | ours / ops.moments |")
    print("| --- |" + " --- |" * (len(names) + 1))
    for shape in SHAPES:
        x = tf.constant(np.random.default_rng(0).normal(size=shape).astype("float32"))
        for f in functions.values():
            f(x)
        times = {name: [] for name in names}
        for r in range(args.rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                start = time.process_time()
                for _ in range(args.calls):
                    functions[name](x)
                times[name].append((time.process_time() - start) / args.calls)
        ms = {name: 1000 * statistics.median(values) for name, values in times.items()}
        cells = " | ".join(f"{ms[n]:.2f}" for n in names)
        print(f"| {shape} | {cells} | {ms['spatial_moments'] / ms['ops.moments']:.2f} |")


if __name__ == "__main__":
    main()

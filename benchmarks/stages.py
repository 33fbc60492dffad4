"""Each block beside its floor on ResNet-50's four stage shapes: where a block's excess is.

`overhead.py` times whole networks, where a block's excess over its floor is a few
milliseconds in a quarter of a second and the run-to-run noise is as large. Here a block and
its floor (`overhead.Floor`) are timed alone on each bottleneck stage's output (batch 8,
56x56x256, 28x28x512, 14x14x1024, 7x7x2048), side by side in every round, in an order that
rotates and runs backwards every other round (`overhead.time_interleaved`); the table gives
the median of the round-by-round CPU-time difference per call, and its sum
over ResNet-50's 3, 4, 6 and 3 blocks per stage as a share of the plain network's time
(`--plain-ms`, which `overhead.py` prints). A constant excess on the small late maps is
per-op cost (many small ops on pooled vectors), an excess growing with the map is a pass.

This is a benchmark, not a test: nothing here is asserted. Example:

    python benchmarks/stages.py --blocks se,ge,gc --rounds 41
"""

import argparse
import os
import statistics
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from overhead import Floor, inference, time_interleaved  # noqa: E402

import keras_attention as ka  # noqa: E402

STAGES = (((56, 56, 256), 3), ((28, 28, 512), 4), ((14, 14, 1024), 6), ((7, 7, 2048), 3))


def candidate(shape, layer):
    inputs = keras.Input(shape)
    return inference(keras.Model(inputs, layer(inputs)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", default=",".join(ka.catalog.BLOCKS))
    parser.add_argument("--rounds", type=int, default=41)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--plain-ms", type=float, default=259.0, help="the plain ResNet-50's time")
    args = parser.parse_args(argv)

    import tensorflow as tf

    blocks = [b for b in args.blocks.split(",") if b]
    rng = np.random.default_rng(0)
    excess = {block: [] for block in blocks}
    for shape, _ in STAGES:
        images = tf.constant(rng.normal(size=(args.batch, *shape)).astype("float32"))
        functions = {}
        for block in blocks:  # each block beside its floor
            functions[block] = candidate(shape, ka.layers.get(block))
            functions[f"floor {block}"] = candidate(shape, Floor(block))
        times = time_interleaved(functions, images, args.rounds, warmup=3)
        for block in blocks:
            pairs = zip(times[block], times[f"floor {block}"], strict=True)
            excess[block].append(1000 * statistics.median(t[1] - f[1] for t, f in pairs))
        print(f"timed {shape}", file=sys.stderr, flush=True)

    print(
        f"\nCPU-time excess of each block over its floor, ms per call (batch {args.batch}, "
        f"median over {args.rounds} rounds), and over ResNet-50 ({args.plain_ms:.0f} ms plain)\n"
    )
    print("| block | " + " | ".join("x".join(map(str, s)) for s, _ in STAGES) + " | ResNet-50 |")
    print("|---" * (len(STAGES) + 2) + "|")
    for block in blocks:
        total = sum(e * count for e, (_, count) in zip(excess[block], STAGES, strict=True))
        cells = " | ".join(f"{e:+.2f}" for e in excess[block])
        print(f"| {block} | {cells} | {total / args.plain_ms:+.3f} |")


if __name__ == "__main__":
    main()

"""What each attention block costs on top of its backbone: time against MACs.

For a backbone (ResNet-50 at 224x224 batch 8, MobileNetV2 at 224x224 batch 8, CIFAR ResNet-164
at 32x32 batch 64) the plain network and the network with each block are timed side by side:
after a warm-up, every round calls each candidate once (a `tf.function` in inference mode), in
an order that rotates from round to round, and the ratio to the plain network's time in the
same round is taken, for wall time and for process CPU time. The table gives, per block, the
median, min and max of those ratios, the MAC ratio (`keras_attention.profile`), and for TFLite
(float32, batch 1, two threads, XNNPACK) the invoke-time ratio and the number of XNNPACK
partitions (one means the delegate runs the whole graph). With `--floors`, each block's floor
is timed too, beside the block in every round: a stand-in that makes only the passes over the
feature map the block cannot avoid with Keras ops (its pools, contractions and rescale) and
the block's own convolutions and MLP once each as plain Keras layers; "over floor" is the
median of the round-by-round difference of the block's and its floor's CPU times, over the
plain network's. Also, in the same run: the plain network
against `keras.applications`' own (ResNet-50 and MobileNetV2), and, when `torch` is
installed, a PyTorch ResNet-50 with SE and SSA (torchvision layout, built here).

This is a benchmark, not a test: nothing here is asserted. Example:

    python benchmarks/overhead.py --backbone resnet50 --rounds 7 --json overhead.json
    python benchmarks/overhead.py --backbone cifar_resnet164 --blocks se,spem --no-tflite
"""

import argparse
import functools
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

import keras_attention as ka  # noqa: E402

BACKBONES = {
    # name: (model name, image size, batch, num_classes)
    "resnet50": ("resnet50", 224, 8, 1000),
    "mobilenet_v2": ("mobilenet_v2", 224, 8, 1000),
    "cifar_resnet164": ("cifar_resnet164", 32, 64, 10),
    # The families whose own SE the blocks replace: "plain" is the network without it.
    "efficientnet_b0": ("efficientnet_b0", 224, 8, 1000),
    "mobilenet_v3_large": ("mobilenet_v3_large", 224, 8, 1000),
}
# The mobile networks' expanded widths are not all multiples of 64.
BLOCK_KWARGS = {"sge": {"groups": 8}}
MOBILE = ("mobilenet_v2", "efficientnet_b0", "mobilenet_v3_large")
# The hidden width of the family's own SE from the channels it sits on, for its floor:
# EfficientNet-B0's is a quarter of the block's input (the expanded width / 24, 8 for the
# first block's 32), MobileNetV3's a quarter of the expanded width rounded to 8.
SE_HIDDEN = {
    "efficientnet_b0": lambda c: 8 if c == 32 else c // 24,
    "mobilenet_v3_large": lambda c: ka.layers.base.make_divisible(c / 4, 8),
}


def _pool(reducer, x):
    """A global pool in its fastest TensorFlow form: over the height, then the width (a
    reduction over both axes at once is 2.5 to 3 times slower on ResNet-50's maps)."""
    return reducer(reducer(x, 1, keepdims=True), 2, keepdims=True)


def _moments(x):
    mean = _pool(ops.mean, x)
    return mean, _pool(ops.mean, ops.square(x - mean))


class Floor(keras.layers.Layer):
    """The passes over the feature map a block cannot avoid with Keras ops, each in its
    fastest form, and the block's own layers where they are more than a small gate (see
    `build`), nothing else: its time over the plain network's is the block's floor. `kind`:
    the block it stands for."""

    def __init__(self, kind, se_hidden=None, groups=64, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.kind = kind
        self.se_hidden = se_hidden
        self.groups = groups  # SGE's

    def build(self, input_shape):
        # A block whose own layers are more than a small gate on a pooled vector has them
        # in its floor too, once each, as plain Keras layers (7x7 convolutions on pooled
        # planes, BAM's projection and dilated convolutions, the coordinate blocks' 1x1s on
        # pooled rows and columns, the strip blocks' depthwise convolutions on them, ESE's
        # C x C, ECA-MLP's C x hidden map, and the C -> hidden -> C MLPs of SE, CBAM, BAM,
        # FcaNet, Gather-Excite and Global Context, whose weights alone are megabytes on the
        # late stages): a block cannot be faster than its own arithmetic.
        c = input_shape[-1]
        conv = keras.layers.Conv2D
        spatial = conv(1, 7, padding="same")

        def strips(k):
            depthwise = keras.layers.DepthwiseConv2D
            return {
                "conv_h": depthwise((k, 1), padding="same"),
                "conv_w": depthwise((1, k), padding="same"),
            }

        def mlp(hidden):
            return {
                "fc1": keras.layers.Dense(hidden, activation="relu"),
                "fc2": keras.layers.Dense(c),
            }

        own = {kind: mlp(c // 16) for kind in ("se", "fca", "ge")}
        if self.se_hidden:  # the family's own SE width
            own["se"] = mlp(self.se_hidden(c))
        own.update({kind: mlp(round(c / 8)) for kind in ("gc", "gca")})
        own.update(
            {
                "ese": {"fc": keras.layers.Dense(c)},
                "ecam": {
                    "expand": keras.layers.Conv1D(max(8, c // 8), 1, activation="relu"),
                    "conv": keras.layers.Conv1D(1, 5, padding="same"),
                },
                "cbam": {**mlp(c // 16), "spatial": spatial},
                "lcbam": {**mlp(c // 16), "spatial": spatial},
                "triplet": {k: conv(1, 7, padding="same") for k in ("cw", "hc", "hw")},
                "bam": {
                    **mlp(c // 16),
                    "reduce": conv(c // 16, 1, activation="relu"),
                    "dilated_1": conv(c // 16, 3, dilation_rate=4, padding="same"),
                    "dilated_2": conv(c // 16, 3, dilation_rate=4, padding="same"),
                    "out": conv(1, 1),
                },
                "strip": strips(3),
                "ela": strips(7),
                "coord": {"fc1": conv(max(8, c // 32), 1), "fc_h": conv(c, 1), "fc_w": conv(c, 1)},
                "scoord": {"fc1": conv(40 * c // 256, 1), "fc_h": conv(c, 1), "fc_w": conv(c, 1)},
            }
        )
        self.own = own.get(self.kind, {})

    def excite(self, pooled):
        """The block's MLP on a `(batch, 1, 1, C)` pooled vector, where it has one."""
        if "fc2" not in self.own:
            return pooled
        return self.own["fc2"](self.own["fc1"](pooled[:, 0, 0]))[:, None, None, :]

    def call(self, x):
        sigmoid = ops.sigmoid
        mean_pool = functools.partial(_pool, ops.mean)
        max_pool = functools.partial(_pool, ops.max)
        own = self.own
        if self.kind == "ese":  # one pool, a C x C map, one rescale
            return x * sigmoid(own["fc"](mean_pool(x)))
        if self.kind == "ecam":  # one pool, an MLP along the channels, one rescale
            pooled = ops.reshape(mean_pool(x), (-1, x.shape[-1], 1))
            gate = ops.reshape(own["conv"](own["expand"](pooled)), (-1, 1, 1, x.shape[-1]))
            return x * sigmoid(gate)
        if self.kind in ("se", "eca", "ceca", "ge"):  # one pool (and MLP), one rescale
            return x * sigmoid(self.excite(mean_pool(x)))
        if self.kind == "fca":  # one weighted sum over the map (the DCT), one rescale
            # Not ones: TensorFlow's graph optimiser removes a product by ones.
            weights = ops.full(x.shape[1:], 0.5, x.dtype)
            return x * sigmoid(self.excite(_pool(ops.sum, x * weights)))
        if self.kind in ("gc", "gca"):  # a 1-channel projection, its softmax, a weighted sum
            logits = ops.sum(x, axis=-1, keepdims=True)
            shape = ops.shape(logits)
            weights = ops.reshape(ops.softmax(ops.reshape(logits, (shape[0], -1))), shape)
            context = self.excite(_pool(ops.sum, x * weights))
            return x * sigmoid(context) if self.kind == "gc" else x + context
        if self.kind == "lcbam":  # as CBAM, with one spatial channel
            gate = sigmoid(self.excite(mean_pool(x) + max_pool(x)))
            refined = x * gate
            spatial = ops.mean(refined, -1, keepdims=True) + ops.max(refined, -1, keepdims=True)
            return refined * sigmoid(own["spatial"](spatial))
        if self.kind == "scoord":  # two axis pools, their 1x1s, a full-size sum, a rescale
            rows, columns = ops.mean(x, 2, keepdims=True), ops.mean(x, 1, keepdims=True)
            a_h, a_w = own["fc_h"](own["fc1"](rows)), own["fc_w"](own["fc1"](columns))
            return x * sigmoid(a_h + a_w)
        if self.kind == "strip":  # two axis pools, their strip convolutions, a full-size sum
            rows, columns = ops.mean(x, 2, keepdims=True), ops.mean(x, 1, keepdims=True)
            return x * sigmoid(own["conv_h"](rows) + own["conv_w"](columns))
        if self.kind == "ela":  # two axis pools, their strip convolutions, two products
            rows, columns = ops.mean(x, 2, keepdims=True), ops.mean(x, 1, keepdims=True)
            return x * sigmoid(own["conv_h"](rows)) * sigmoid(own["conv_w"](columns))
        if self.kind == "simam":  # mean and variance, a full-size energy, a rescale
            mean, variance = _moments(x)
            return x * sigmoid(ops.square(x - mean) / variance + 0.5)
        if self.kind == "triplet":  # max and mean over each axis, 7x7s, a full-size gate sum
            gates = []
            for axis, plane, key in ((1, (0, 3, 2, 1), "cw"), (2, (0, 1, 3, 2), "hc")):
                pooled = ops.concatenate(
                    [ops.max(x, axis, keepdims=True), ops.mean(x, axis, keepdims=True)], axis
                )
                gates.append(ops.transpose(own[key](ops.transpose(pooled, plane)), plane))
            pooled = ops.concatenate([ops.max(x, 3, keepdims=True), ops.mean(x, 3, True)], 3)
            gates.append(own["hw"](pooled))
            return x * (sigmoid(gates[0]) + sigmoid(gates[1]) + sigmoid(gates[2]))
        if self.kind == "bam":  # one pool, BAM's convolutions, a gated rescale
            spatial = own["reduce"](x)
            spatial = own["out"](own["dilated_2"](own["dilated_1"](spatial)))
            return x * (1 + sigmoid(self.excite(mean_pool(x)) * spatial))
        if self.kind == "spem":  # max and min pools, one rescale
            return x * sigmoid(max_pool(x) + _pool(ops.min, x))
        if self.kind == "srm":  # mean and variance, one rescale
            mean, variance = _moments(x)
            return x * sigmoid(mean + variance)
        if self.kind == "ssa":  # one pool, one contraction over the channels, one rescale
            pooled = mean_pool(x)[:, 0, 0]
            return x * sigmoid(ops.matmul(x, pooled[:, None, :, None]))
        if self.kind == "sge":  # one pool, a grouped product and sum, the similarity's
            # moments and an affine map of it, a grouped rescale
            from keras_attention.layers.grouping import grouped_rescale, grouped_saliency

            pooled = mean_pool(x)[:, 0, 0]
            similarity = grouped_saliency(x, pooled, self.groups, "channels_last", reduce="sum")
            mean, variance = _moments(similarity)
            gate = sigmoid(similarity * variance + mean)
            return grouped_rescale(x, gate, "channels_last")
        if self.kind == "cbam":  # two pools, a product, two channel reductions, a rescale
            # The shared MLP once, on both pooled vectors stacked along the batch.
            batch = ops.shape(x)[0]
            pooled = self.excite(ops.concatenate([mean_pool(x), max_pool(x)], 0))
            gate = sigmoid(pooled[:batch] + pooled[batch:])
            refined = x * gate
            spatial = ops.concatenate(
                [ops.mean(refined, -1, keepdims=True), ops.max(refined, -1, keepdims=True)], -1
            )
            return refined * sigmoid(own["spatial"](spatial))
        if self.kind == "coord":  # a pool along each axis, their 1x1s, two broadcast products
            rows, columns = ops.mean(x, 2, keepdims=True), ops.mean(x, 1, keepdims=True)
            a_h, a_w = own["fc_h"](own["fc1"](rows)), own["fc_w"](own["fc1"](columns))
            return x * sigmoid(a_h) * sigmoid(a_w)
        raise ValueError(f"no floor for {self.kind!r}")


def build(backbone, block):
    name, size, _, classes = BACKBONES[backbone]
    kwargs = BLOCK_KWARGS.get(block) if backbone in MOBILE else None
    return ka.models.build(
        name, block, num_classes=classes, input_shape=(size, size, 3), attention_kwargs=kwargs
    )


def inference(model):
    """The candidate timed for a Keras model: a `tf.function` of its inference-mode call."""
    import tensorflow as tf

    return tf.function(lambda x: model(x, training=False))


def time_interleaved(functions, inputs, rounds, warmup=2):
    """`{name: [(wall, cpu), ...]}`: each function called once per round, in an order that
    rotates and, every other round, runs backwards: a candidate's time depends on what ran just
    before it (the allocator's state after another candidate's maps), so a block timed beside
    its floor comes before it in half the rounds and after it in the others."""
    names = list(functions)
    for _ in range(warmup):
        for name in names:
            functions[name](inputs)
    times = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        order = order[::-1] if r % 2 else order
        for name in order:
            wall, cpu = time.perf_counter(), time.process_time()
            functions[name](inputs)
            times[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    return times


def summary(values):
    return statistics.median(values), min(values), max(values)


def tflite_candidate(model, threads=2):
    """`(invoke function, XNNPACK partitions, whole graph delegated, op names)` for a float32
    batch-1 conversion run by LiteRT with its default XNNPACK delegate."""
    interpreter = ka.export.batch1_interpreter(
        ka.export.convert_tflite(model, "float32"), num_threads=threads
    )
    partitions, whole = ka.export.xnnpack_partitions(interpreter)
    ops = [op for op in ka.export.tflite_ops(interpreter) if op != "DELEGATE"]
    source = interpreter.get_input_details()[0]

    def invoke(image):
        interpreter.set_tensor(source["index"], image)
        interpreter.invoke()

    return invoke, partitions, whole, ops


def torch_resnet50_candidates():
    """PyTorch ResNet-50 (torchvision layout, written here), plain and with SE and SSA."""
    import torch
    from torch import nn

    class SE(nn.Module):
        def __init__(self, c, r=16):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(c, c // r), nn.Linear(c // r, c)

        def forward(self, x):
            s = torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean((2, 3))))))
            return x * s[:, :, None, None]

    class SSA(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.bn = nn.BatchNorm2d(1)

        def forward(self, x):
            m = (x * x.mean((2, 3), keepdim=True)).mean(1, keepdim=True)
            return x * torch.sigmoid(self.bn(m))

    class Bottleneck(nn.Module):
        def __init__(self, cin, planes, stride, block):
            super().__init__()
            out = planes * 4
            self.body = nn.Sequential(
                nn.Conv2d(cin, planes, 1, bias=False), nn.BatchNorm2d(planes), nn.ReLU(),
                nn.Conv2d(planes, planes, 3, stride, 1, bias=False), nn.BatchNorm2d(planes),
                nn.ReLU(), nn.Conv2d(planes, out, 1, bias=False), nn.BatchNorm2d(out),
            )  # fmt: skip
            self.attention = block(out) if block else nn.Identity()
            self.down = nn.Identity()
            if stride != 1 or cin != out:
                self.down = nn.Sequential(
                    nn.Conv2d(cin, out, 1, stride, bias=False), nn.BatchNorm2d(out)
                )

        def forward(self, x):
            return torch.relu(self.down(x) + self.attention(self.body(x)))

    def resnet50(block):
        layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU()]
        layers.append(nn.MaxPool2d(3, 2, 1))
        cin = 64
        widths, counts = (64, 128, 256, 512), (3, 4, 6, 3)
        for stage, (planes, count) in enumerate(zip(widths, counts, strict=True)):
            for i in range(count):
                stride = 2 if stage and i == 0 else 1
                layers.append(Bottleneck(cin, planes, stride, block))
                cin = planes * 4
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, 1000)]
        return nn.Sequential(*layers).eval()

    torch.set_num_threads(int(os.environ.get("BENCHMARK_THREADS", "2")))
    nets = {"torch plain": resnet50(None), "torch se": resnet50(SE), "torch ssa": resnet50(SSA)}

    def caller(net):
        def call(images):
            with torch.inference_mode():
                net(images)

        return call

    return {name: caller(net) for name, net in nets.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backbone", default="resnet50", choices=sorted(BACKBONES))
    parser.add_argument(
        "--blocks", default=",".join(ka.catalog.BLOCKS), help="comma-separated block names"
    )
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--tflite-rounds", type=int, default=21)
    parser.add_argument(
        "--tflite-invokes", type=int, default=3, help="invokes per candidate and round (summed)"
    )
    parser.add_argument("--no-tflite", action="store_true")
    parser.add_argument("--no-peers", action="store_true", help="skip keras.applications/torch")
    parser.add_argument(
        "--floors",
        action="store_true",
        help="also time each block's floor: only the passes over the feature map it needs",
    )
    parser.add_argument("--json", default="overhead.json", help="where to write the JSON")
    args = parser.parse_args(argv)

    import keras
    import tensorflow as tf

    blocks = [b for b in args.blocks.split(",") if b]
    name, size, batch, _ = BACKBONES[args.backbone]
    rng = np.random.default_rng(0)
    images = tf.constant(rng.normal(size=(batch, size, size, 3)).astype("float32"))

    candidates, macs, tflite = {}, {}, {}
    refused = []
    for block in [None, *blocks]:
        label = block or "plain"
        try:
            model = build(args.backbone, block)
        except ValueError as error:  # FcaNet on widths that are not multiples of 16
            print(f"refused {label}: {error}", file=sys.stderr, flush=True)
            refused.append(label)
            continue
        macs[label] = ka.profile(model).macs
        candidates[label] = inference(model)
        if not args.no_tflite:
            tflite[label] = tflite_candidate(model)
        print(f"built {label}", file=sys.stderr, flush=True)

    floors = {}
    blocks = [b for b in blocks if b not in refused]
    if args.floors:
        for block in blocks:
            groups = BLOCK_KWARGS["sge"]["groups"] if args.backbone in MOBILE else 64
            floor = functools.partial(Floor, block, SE_HIDDEN.get(args.backbone), groups)
            model = build(args.backbone, floor)
            floors[f"floor {block}"] = inference(model)

    peers = {}
    if not args.no_peers:
        applications = {
            "resnet50": lambda: keras.applications.ResNet50(weights=None),
            "mobilenet_v2": lambda: keras.applications.MobileNetV2(weights=None),
        }
        if args.backbone in applications:
            reference = applications[args.backbone]()
            peers["keras.applications"] = inference(reference)

    # Each block beside its floor, so that the two are timed moments apart in every round.
    order = {"plain": candidates["plain"]}
    for block in blocks:
        order[block] = candidates[block]
        if f"floor {block}" in floors:
            order[f"floor {block}"] = floors[f"floor {block}"]
    times = time_interleaved({**order, **peers}, images, args.rounds)
    plain = times["plain"]
    rows = []
    for label in candidates:
        wall = [t[0] / p[0] for t, p in zip(times[label], plain, strict=True)]
        cpu = [t[1] / p[1] for t, p in zip(times[label], plain, strict=True)]
        row = {
            "block": label,
            "wall": summary(wall),
            "cpu": summary(cpu),
            "macs": macs[label] / macs["plain"],
            "plain_ms": 1000 * statistics.median(t[0] for t in plain),
        }
        floor = times.get(f"floor {label}")
        if floor is not None:
            row["floor_cpu"] = summary([f[1] / p[1] for f, p in zip(floor, plain, strict=True)])
            # The block's excess over its floor, paired round by round (the two ran side by
            # side), in units of the plain network's time: less noisy than a difference of
            # the two medians.
            row["over_floor_cpu"] = summary(
                [(t[1] - f[1]) / p[1] for t, f, p in zip(times[label], floor, plain, strict=True)]
            )
        rows.append(row)

    if tflite:
        image = images[:1].numpy()
        # One batch-1 invoke is short: several per round steady each round's ratio.
        invokes = {
            label: (lambda x, f=entry[0]: [f(x) for _ in range(args.tflite_invokes)])
            for label, entry in tflite.items()
        }
        tflite_times = time_interleaved(invokes, image, args.tflite_rounds)
        for row in rows:
            label = row["block"]
            ratio = [
                t[0] / p[0] for t, p in zip(tflite_times[label], tflite_times["plain"], strict=True)
            ]
            row["tflite"] = summary(ratio)
            row["partitions"] = tflite[label][1]
            row["whole_graph_delegated"] = tflite[label][2]
            row["tflite_ops"] = tflite[label][3]

    peer_rows = []
    for label in peers:
        cpu = [t[1] / p[1] for t, p in zip(times[label], plain, strict=True)]
        peer_rows.append({"peer": label, "cpu_time_over_ours": summary(cpu)})
    if not args.no_peers and args.backbone == "resnet50":
        try:
            import torch
        except ImportError:
            torch = None
        if torch is not None:
            torch_images = torch.from_numpy(images.numpy().transpose(0, 3, 1, 2).copy())
            torch_calls = torch_resnet50_candidates()
            # Each framework gets its own input type, so time them with per-candidate inputs.
            torch_times = _time_mixed(
                {"ours plain": (candidates["plain"], images)}
                | {k: (f, torch_images) for k, f in torch_calls.items()},
                args.rounds,
            )
            base = torch_times["torch plain"]
            for label in ("ours plain", "torch se", "torch ssa"):
                cpu = [t[1] / b[1] for t, b in zip(torch_times[label], base, strict=True)]
                peer_rows.append({"peer": f"{label} / torch plain", "cpu_ratio": summary(cpu)})

    print_table(args, rows, peer_rows)
    with open(args.json, "w") as handle:
        json.dump({"backbone": args.backbone, "rows": rows, "peers": peer_rows}, handle, indent=2)
    print(f"\nJSON: {args.json}")


def _time_mixed(entries, rounds, warmup=2):
    """Like `time_interleaved`, with one input per candidate: `{name: (function, input)}`."""
    functions = {name: (lambda _, f=f, x=x: f(x)) for name, (f, x) in entries.items()}
    return time_interleaved(functions, None, rounds, warmup)


def _fmt(triple, digits=3):
    median, low, high = triple
    return f"{median:.{digits}f} ({low:.{digits - 1}f}-{high:.{digits - 1}f})"


def _signed(triple, digits=3):
    median, low, high = triple
    return f"{median:+.{digits}f} ({low:+.{digits - 1}f} to {high:+.{digits - 1}f})"


def print_table(args, rows, peer_rows):
    name, size, batch, _ = BACKBONES[args.backbone]
    print(
        f"\n{name} {size}x{size}, batch {batch}, float32, training=False; ratios to the plain "
        f"network in the same round, median (min-max) over {args.rounds} rounds; plain: "
        f"{rows[0]['plain_ms']:.0f} ms per call\n"
    )
    header = "| block | CPU time | wall time | MACs |"
    rule = "|---|---|---|---|"
    if "floor_cpu" in rows[-1]:
        header += " floor CPU time | over floor, paired |"
        rule += "---|---|"
    if "tflite" in rows[0]:
        header += " TFLite invoke (batch 1) | XNNPACK partitions |"
        rule += "---|---|"
    print(header)
    print(rule)
    for row in rows:
        line = f"| {row['block']} | {_fmt(row['cpu'])} | {_fmt(row['wall'])} | {row['macs']:.4f} |"
        if "floor_cpu" in rows[-1]:
            if "floor_cpu" in row:
                line += f" {_fmt(row['floor_cpu'])} | {_signed(row['over_floor_cpu'])} |"
            else:
                line += " | |"
        if "tflite" in row:
            whole = "" if row["whole_graph_delegated"] else " (not all)"
            line += f" {_fmt(row['tflite'])} | {row['partitions']}{whole} |"
        print(line)
    if peer_rows:
        print("\n| peer (same run) | CPU-time ratio, median (min-max) |")
        print("|---|---|")
        for row in peer_rows:
            value = row.get("cpu_time_over_ours") or row.get("cpu_ratio")
            label = row["peer"] + (" / ours" if "cpu_time_over_ours" in row else "")
            print(f"| {label} | {_fmt(value)} |")


if __name__ == "__main__":
    main()

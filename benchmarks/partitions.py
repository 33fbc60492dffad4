"""Every family with every block as TFLite: how many XNNPACK partitions each network makes.

One partition means XNNPACK runs the whole graph; more mean TFLite's reference kernels run
some ops between delegate calls (slow on device). To convert 4 families x 22 blocks in a
reasonable time, each network holds several blocks, one per position, cycling through the
registry (EfficientNet-B0 has 16 positions, MobileNetV3-Small 9, RegNetY-200MF 13,
ResNeXt-26 8), so every block sits in every family at least once; a network with more than
one partition is converted again block by block to name the one that splits it. A block
that cannot sit in a family (FcaNet on widths that are not multiples of 16) is listed as
refused.

This is a check, not a timing: nothing here is asserted. Example:

    python benchmarks/partitions.py --families efficientnet_b0,regnety_002
"""

import argparse
import itertools
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from keras_attention import export, layers, models  # noqa: E402

FAMILIES = {
    "efficientnet_b0": lambda attention: models.efficientnet(
        "b0", attention=attention, num_classes=10, input_shape=(64, 64, 3)
    ),
    "mobilenet_v3_small": lambda attention: models.mobilenet_v3(
        "small", attention=attention, num_classes=10, input_shape=(64, 64, 3)
    ),
    "regnety_002": lambda attention: models.regnet(
        "y_002", attention=attention, num_classes=10, input_shape=(64, 64, 3)
    ),
    "resnext26_32x4d": lambda attention: models.resnext(
        26, attention=attention, num_classes=10, input_shape=(64, 64, 3)
    ),
}
BLOCK_KWARGS = {"sge": {"groups": 8}}  # the mobile networks' widths are not multiples of 64


def cycling(names):
    """An attention callable that gives the next block of `names` at each position."""
    order = itertools.cycle(names)

    def make(name=None, data_format=None):
        block = next(order)
        kwargs = BLOCK_KWARGS.get(block, {})
        return layers.get(block, name=f"{name}_{block}", data_format=data_format, **kwargs)

    return make


def partitions(model):
    interpreter = export.batch1_interpreter(export.convert_tflite(model))
    return export.xnnpack_partitions(interpreter)[0]


def positions(family):
    model = FAMILIES[family]("se")
    return sum(isinstance(layer, layers.AttentionBlock) for layer in model.layers)


def check(family, names):
    """`{block: partitions}` for every block of `names` in `family`."""
    fitting, found = [], {}
    for name in names:
        try:
            FAMILIES[family](cycling([name]))
            fitting.append(name)
        except ValueError:
            found[name] = "refused"
    size = positions(family)
    for start in range(0, len(fitting), size):
        group = fitting[start : start + size]
        count = partitions(FAMILIES[family](cycling(group)))
        if count == 1:
            found.update({name: 1 for name in group})
        else:  # name the block that splits the graph
            found.update({name: partitions(FAMILIES[family](cycling([name]))) for name in group})
        print(f"{family}: {', '.join(group)}: {count}", file=sys.stderr, flush=True)
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--blocks", default=",".join(layers.names()))
    args = parser.parse_args(argv)
    families = [f for f in args.families.split(",") if f]
    names = [b for b in args.blocks.split(",") if b]
    table = {family: check(family, names) for family in families}
    print("| block | " + " | ".join(families) + " |")
    print("| --- |" + " --- |" * len(families))
    for name in names:
        print(f"| {name} | " + " | ".join(str(table[f][name]) for f in families) + " |")


if __name__ == "__main__":
    main()

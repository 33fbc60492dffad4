"""`keras-attention list`: the blocks, models, data sets, recipes, paper tables, checkpoint
architectures and presets, before any backend loads.
"""

from keras_attention.cli.options import PROG, Parser

LISTS = ("blocks", "models", "datasets", "recipes", "tables", "archs", "presets")


def list_parser():
    """The argument parser of `keras-attention list`: what exists (blocks, models, data sets,
    recipes, tables, architectures, presets), one line each."""
    p = Parser(
        prog=f"{PROG} list",
        description="List what exists: attention blocks, model families, data sets, recipes "
        "and the papers' tables (keras-attention reproduce).",
    )
    p.add_argument("what", nargs="?", choices=LISTS, help="one list only (default: all)")
    return p


def list_command(argv, out=print):
    """Runs `keras-attention list` with `argv`, the arguments after the command's name (its report
    through `out`); returns the exit status."""
    from keras_attention import catalog
    from keras_attention.pretrained import presets
    from keras_attention.training import papers, recipes

    args = list_parser().parse_args(argv)
    sections = {
        "blocks": [(name, text) for name, (_, text) in catalog.BLOCKS.items()],
        "models": [
            (catalog.MODEL_NAME_RULES[family], f"{text} (e.g. {examples})")
            for family, (_, examples, text) in catalog.MODEL_FAMILIES.items()
        ],
        "datasets": [(name, text) for name, (text, _) in catalog.DATASETS.items()],
        "recipes": [
            (name, recipe.description.split(": ")[0]) for name, recipe in recipes.RECIPES.items()
        ],
        "tables": [(name, table.title) for name, table in papers.TABLES.items()],
        "archs": [(examples, text) for _, (_, examples, text) in catalog.ARCHITECTURES.items()]
        + [
            (
                "keras:efficientnet_b0 ... keras:efficientnet_b7, keras:mobilenet_v3_large, "
                "keras:mobilenet_v3_small",
                "keras.applications' EfficientNet and MobileNetV3 (.keras or .h5 file), "
                "weights copied exactly",
            )
        ],
        "presets": [(name, f"{p.arch} from {p.source}") for name, p in presets.table().items()],
    }
    for what in [args.what] if args.what else LISTS:
        out(f"{what}:")
        if what == "models":
            out("  (a family and its depth or width; the block is --attention, not in the name)")
        width = max(len(name) for name, _ in sections[what])
        for name, text in sections[what]:
            out(f"  {name:<{width}}  {text}")
    return 0

"""The papers' tables as data: every row's network, options, recipe and data set, and the
parameters, MACs and accuracy the paper prints for it.

`papers.build("ssa_resnet50")` builds a row's network as its authors built it (their layout and
PyTorch BatchNorm semantics); `papers.table("spem_table1")` lists a table's rows;
`keras-attention reproduce TABLE` trains them and prints our figures beside the paper's.

Importing this module does not import Keras: the command line lists and checks tables before a
backend is loaded. Sources: the four seed papers (SSANet, SPEM, SE-R) and REFERENCE's exact
parameter counts, which were reproduced from the authors' PyTorch code.
"""

import dataclasses

from keras_attention import catalog


@dataclasses.dataclass(frozen=True)
class Row:
    """One row of a paper's table.

    `paper_params` (millions) and `paper_macs` (G) are as printed; `exact_params` is the exact
    trainable count of the authors' network where it is known. `paper_accuracy` is top-1 in %
    (None where the paper prints none).
    """

    name: str
    label: str
    model: str
    attention: str = "none"
    dataset: str = "cifar10"
    recipe: str = "spem_cifar"
    attention_kwargs: tuple = ()  # (name, value) pairs: rows are hashable data
    model_kwargs: tuple = ()
    reduction: int = None
    aux_positions: tuple = ()
    feed_attention: bool = True
    aux_loss_weights: tuple = None
    paper_params: float = None
    paper_macs: float = None
    paper_accuracy: float = None
    exact_params: int = None
    note: str = ""

    @property
    def num_classes(self):
        return {"cifar10": 10, "cifar100": 100, "imagenet2012": 1000}.get(self.dataset, 10)

    @property
    def image_size(self):
        return 224 if self.dataset == "imagenet2012" else 32

    def config(self, **overrides):
        """The `TrainConfig` that trains this row, with `overrides` (dataset, epochs, ...;
        None values are ignored)."""
        from keras_attention.training.config import TrainConfig

        fields = dict(
            model=self.model,
            attention=self.attention,
            dataset=self.dataset,
            recipe=self.recipe,
            attention_kwargs=dict(self.attention_kwargs),
            model_kwargs=dict(self.model_kwargs),
            reduction=self.reduction,
            aux_positions=tuple(self.aux_positions),
            feed_attention=self.feed_attention,
            aux_loss_weights=self.aux_loss_weights,
        )
        fields.update({k: v for k, v in overrides.items() if v is not None})
        return TrainConfig(**fields)


@dataclasses.dataclass(frozen=True)
class Table:
    """One table of a paper: its name, title, source (paper and table number) and rows."""

    name: str
    title: str
    source: str
    rows: tuple


TORCH = (("batchnorm", "torch"),)  # the authors' PyTorch BatchNorm semantics
SSA_LAYOUT = (("batchnorm", "torch"), ("stride_on", "3x3"))  # the SSA code strides the 3x3


def _spem_rows(depth, dataset, blocks, figures, extra=()):
    rows = []
    for block, (params, accuracy) in zip(blocks, figures, strict=True):
        label = f"ResNet{depth}" + (f" + {block.upper()}" if block != "none" else "")
        exact = dict(extra).get((depth, block, dataset))
        rows.append(
            Row(
                name=f"resnet{depth}_{block}_{dataset}",
                label=label,
                model=f"cifar_resnet{depth}",
                attention=block,
                dataset=dataset,
                recipe="spem_cifar",
                model_kwargs=TORCH,
                paper_params=params,
                paper_accuracy=accuracy,
                exact_params=exact,
            )
        )
    return rows


# Exact counts of the SPEM code's ResNet-164 (REFERENCE).
_SPEM_EXACT = (
    ((164, "none", "cifar10"), 1_704_154),
    ((164, "spem", "cifar10"), 1_736_518),
    ((164, "none", "cifar100"), 1_727_284),
    ((164, "spem", "cifar100"), 1_759_648),
)
_SPEM_BLOCKS = ("none", "se", "cbam", "eca", "srm", "sge", "spem")


def _se_r_row(depth, kind, accuracy, weights=None, positions=(2, 3), name=None, label=None, **kw):
    """SE-ResNet (kind "se"), SE-A (aux heads that do not feed SE) or SE-R, CIFAR-100, r=8."""
    from_paper = {34: (21.655, 26.145), 50: (28.779, 33.531), 101: (52.273, 57.243)}
    macs = {34: (1.163, 1.169), 50: (1.315, 1.323), 101: (2.538, 2.546)}
    exact = {34: (21_655_420, 26_144_836), 50: (28_778_692, 33_530_764)}
    exact[101] = (52_272_964, 57_242_636)
    plain = kind == "se"
    index = 0 if plain else 1
    model_kwargs, reduction = kw.pop("model_kwargs", TORCH), kw.pop("reduction", 8)
    # The paper's counts are for its standard networks: r=8, heads after stages 2 and 3.
    standard = positions == (2, 3) and model_kwargs == TORCH and reduction == 8
    prefix = {"se": "SE", "se_a": "SE-A", "se_r": "SE-R"}[kind]
    return Row(
        name=name or f"cifar_{kind}_resnet{depth}",
        label=label or f"{prefix}-ResNet{depth}",
        model=f"cifar_se_resnet{depth}",
        attention="se",
        dataset="cifar100",
        recipe="se_r_cifar",
        model_kwargs=model_kwargs,
        reduction=reduction,
        aux_positions=() if plain else positions,
        feed_attention=kind != "se_a",
        aux_loss_weights=None if plain else weights,
        # SE-A has SE-R's aux heads without the context inputs: no paper count for it.
        paper_params=from_paper[depth][index] if kind != "se_a" and standard else None,
        paper_macs=macs[depth][index] if kind != "se_a" and standard else None,
        paper_accuracy=accuracy,
        exact_params=exact[depth][index] if kind != "se_a" and standard else None,
        **kw,
    )


_AUX_WEIGHTS = {34: (0.4, 0.4), 50: (0.3, 0.3), 101: (0.3, 0.2)}


def _loss_weight_rows(depth, figures):
    rows = []
    for weights, accuracy in figures:
        if weights == (0.0, 0.0):
            rows.append(_se_r_row(depth, "se", accuracy, label=f"SE-ResNet{depth} (0, 0)"))
            continue
        tag = "_".join(f"{w:g}" for w in weights).replace(".", "")
        rows.append(
            _se_r_row(
                depth,
                "se_r",
                accuracy,
                weights,
                name=f"cifar_se_r_resnet{depth}_w{tag}",
                label=f"SE-R-ResNet{depth} ({weights[0]:g}, {weights[1]:g})",
            )
        )
    return tuple(rows)


# SE-R Tables 7-9: (table, depth, ((aux1, aux2) loss weights, top-1 %), ...); (0, 0) is
# SE-ResNet without auxiliary heads.
_LOSS_WEIGHT_TABLES = (
    (
        7,
        34,
        (((0.0, 0.0), 78.12), ((0.3, 0.3), 78.46), ((0.4, 0.4), 78.98))
        + (((0.5, 0.5), 78.68), ((0.6, 0.6), 78.59)),
    ),
    (
        8,
        50,
        (((0.0, 0.0), 78.22), ((0.2, 0.2), 79.26), ((0.3, 0.3), 79.96), ((0.4, 0.4), 79.69))
        + (((0.5, 0.5), 79.16), ((0.6, 0.6), 79.58), ((0.7, 0.7), 79.31)),
    ),
    (
        9,
        101,
        (((0.0, 0.0), 78.54), ((0.3, 0.1), 80.09), ((0.3, 0.2), 80.48), ((0.3, 0.3), 80.04))
        + (((0.4, 0.2), 79.66), ((0.2, 0.2), 78.89)),
    ),
)


def _ssa_rows(dataset, accuracies, recipe):
    names = (("none", "ResNet50", 25.6, 3.86), ("se", "SE-ResNet50 (r=16)", 28.1, 3.87))
    names += (("ssa", "SSA-ResNet50", 25.6, 3.87),)
    exact = {"none": 25_557_032, "se": 28_088_024, "ssa": 25_557_064}
    rows = []
    for (block, label, params, macs), accuracy in zip(names, accuracies, strict=True):
        imagenet = dataset == "imagenet2012"
        rows.append(
            Row(
                name=f"{block + '_' if block != 'none' else ''}resnet50_{dataset}".replace(
                    "_imagenet2012", ""
                ),
                label=label,
                model="resnet50",
                attention=block,
                dataset=dataset,
                recipe=recipe,
                model_kwargs=SSA_LAYOUT,
                paper_params=params,
                paper_macs=macs,
                paper_accuracy=accuracy,
                exact_params=exact[block] if imagenet else None,
                note=""
                if imagenet
                else "the paper prints the ImageNet network's parameters and GFLOPs",
            )
        )
    return tuple(rows)


TABLES = {
    table.name: table
    for table in (
        Table(
            "spem_table1",
            "SPEM Table 1: attention blocks on ResNet-164, CIFAR-10 and CIFAR-100",
            "SPEM paper, Table 1",
            tuple(
                _spem_rows(
                    164,
                    "cifar10",
                    _SPEM_BLOCKS,
                    (
                        (1.70, 93.39),
                        (1.91, 94.24),
                        (1.92, 93.88),
                        (1.70, 94.47),
                        (1.74, 94.55),
                        (1.71, 94.25),
                        (1.74, 94.80),
                    ),
                    _SPEM_EXACT,
                )
                + _spem_rows(
                    164,
                    "cifar100",
                    _SPEM_BLOCKS,
                    (
                        (1.73, 74.30),
                        (1.93, 75.23),
                        (1.94, 74.68),
                        (1.72, 75.81),
                        (1.76, 76.01),
                        (1.73, 74.82),
                        (1.76, 76.31),
                    ),
                    _SPEM_EXACT,
                )
            ),
        ),
        Table(
            "spem_table2",
            "SPEM Table 2: depth 83 to 326, with and without SPEM, CIFAR-10 and CIFAR-100",
            "SPEM paper, Table 2",
            tuple(
                row
                for dataset, figures in (
                    (
                        "cifar10",
                        {
                            83: ((0.87, 93.62), (0.89, 94.03)),
                            164: ((1.70, 93.39), (1.74, 94.80)),
                            245: ((2.54, 94.16), (2.59, 95.08)),
                            326: ((3.37, 93.45), (3.44, 95.13)),
                        },
                    ),
                    (
                        "cifar100",
                        {
                            83: ((0.89, 73.55), (0.91, 73.87)),
                            164: ((1.73, 74.30), (1.76, 76.31)),
                            245: ((2.56, 73.88), (2.61, 76.75)),
                            326: ((3.40, 72.08), (3.46, 77.54)),
                        },
                    ),
                )
                for depth, pair in figures.items()
                for row in _spem_rows(depth, dataset, ("none", "spem"), pair, _SPEM_EXACT)
            ),
        ),
        Table(
            "se_r_table3",
            "SE-R Tables 1-3: SE-ResNet and SE-R-ResNet 34/50/101 on CIFAR-100 (r=8): "
            "parameters, MACs, accuracy",
            "SE-R paper, Tables 1, 2 and 3",
            tuple(
                row
                for depth, (plain, fed) in {
                    34: (78.12, 78.98),
                    50: (78.22, 79.96),
                    101: (78.54, 80.48),
                }.items()
                for row in (
                    _se_r_row(depth, "se", plain),
                    _se_r_row(depth, "se_r", fed, _AUX_WEIGHTS[depth]),
                )
            ),
        ),
        Table(
            "se_r_table4",
            "SE-R Table 4: SE-ResNet, SE-A-ResNet (aux heads only) and SE-R-ResNet, CIFAR-100",
            "SE-R paper, Table 4",
            tuple(
                row
                for depth, (plain, aux, fed) in {
                    34: (78.12, 78.78, 78.98),
                    50: (78.22, 79.25, 79.96),
                    101: (78.54, 79.86, 80.48),
                }.items()
                for row in (
                    _se_r_row(depth, "se", plain),
                    _se_r_row(depth, "se_a", aux, _AUX_WEIGHTS[depth]),
                    _se_r_row(depth, "se_r", fed, _AUX_WEIGHTS[depth]),
                )
            ),
        ),
        Table(
            "se_r_table5",
            "SE-R Table 5: dropout of the auxiliary classifiers, SE-R-ResNet50, CIFAR-100",
            "SE-R paper, Table 5",
            tuple(
                _se_r_row(
                    50,
                    "se_r",
                    accuracy,
                    (0.3, 0.3),
                    name=f"cifar_se_r_resnet50_dropout{int(rate * 10)}",
                    label=f"SE-R-ResNet50, aux dropout {rate:g}",
                    model_kwargs=TORCH + (("aux_dropout", rate),),
                )
                for rate, accuracy in ((0.3, 79.78), (0.5, 79.93), (0.7, 79.96), (0.9, 79.77))
            ),
        ),
        Table(
            "se_r_table6",
            "SE-R Table 6: position of one auxiliary classifier, SE-R-ResNet50, CIFAR-100",
            "SE-R paper, Table 6 (the loss weight of the single head is not given: 0.3 here)",
            tuple(
                _se_r_row(
                    50,
                    "se_r",
                    accuracy,
                    (0.3,),
                    positions=(stage,),
                    name=f"cifar_se_r_resnet50_{where.lower()}",
                    label=f"SE-R-ResNet50, aux after stage {stage} ({where})",
                )
                for where, stage, accuracy in (
                    ("End", 3, 78.42),
                    ("Middle", 2, 80.12),
                    ("Front", 1, 78.96),
                )
            ),
        ),
        *(
            Table(
                f"se_r_table{number}",
                f"SE-R Table {number}: auxiliary loss weights, SE-R-ResNet{depth}, CIFAR-100",
                f"SE-R paper, Table {number}",
                _loss_weight_rows(depth, figures),
            )
            for number, depth, figures in _LOSS_WEIGHT_TABLES
        ),
        Table(
            "se_r_table10",
            "SE-R Table 10: reduction ratio, SE-R-ResNet50, CIFAR-100",
            "SE-R paper, Table 10",
            tuple(
                _se_r_row(
                    50,
                    "se_r",
                    accuracy,
                    (0.3, 0.3),
                    name=f"cifar_se_r_resnet50_r{r}",
                    label=f"SE-R-ResNet50, r={r}",
                    reduction=r,
                )
                for r, accuracy in ((8, 79.96), (12, 79.69), (16, 79.53))
            ),
        ),
        Table(
            "ssa_table1",
            "SSANet Table 1: ResNet-50, SE and SSA on CIFAR-10",
            "SSANet write-up, Table 1 (its SSA accuracy, 78.35, repeats the CIFAR-100 figure)",
            _ssa_rows("cifar10", (94.38, 94.83, 78.35), "ssa_cifar"),
        ),
        Table(
            "ssa_table2",
            "SSANet Table 2: ResNet-50, SE and SSA on CIFAR-100",
            "SSANet write-up, Table 2",
            _ssa_rows("cifar100", (77.26, 77.13, 78.35), "ssa_cifar"),
        ),
        Table(
            "ssa_table3",
            "SSANet Table 3: ResNet-50, SE and SSA on ImageNet",
            "SSANet write-up, Table 3",
            _ssa_rows("imagenet2012", (75.24, 76.75, 76.61), "resnet_imagenet"),
        ),
        Table(
            "ssa_table4",
            "SSANet Table 4: MobileNetV2 1.0, SE and SSA on ImageNet (the official TF-slim recipe)",
            "SSANet write-up, Table 4 (SE's accuracy is not reported; SSA's 74.8 is marked "
            "as expected, not measured)",
            tuple(
                Row(
                    name=name,
                    label=label,
                    model="mobilenet_v2",
                    attention=block,
                    dataset="imagenet2012",
                    recipe="mobilenet_v2",
                    paper_params=params,
                    paper_macs=macs,
                    paper_accuracy=accuracy,
                    exact_params=3_504_872 if block == "none" else None,
                )
                for name, label, block, params, macs, accuracy in (
                    ("mobilenet_v2", "MobileNetV2 1.0", "none", 3.4, 0.3, 72.10),
                    ("se_mobilenet_v2", "SE-MobileNetV2 1.0 (r=16)", "se", 3.7, 0.304, None),
                    ("ssa_mobilenet_v2", "SSA-MobileNetV2 1.0", "ssa", 3.4, 0.304, 74.8),
                )
            ),
        ),
    )
}


def names():
    """The names of the papers' tables."""
    return list(TABLES)


def check(name):
    """Returns `name` if it names a table, else raises ValueError listing them."""
    if name not in TABLES:
        raise ValueError(
            f"unknown table {name!r}{catalog.suggest(name, names())}; expected one of "
            f"{', '.join(names())}"
        )
    return name


def table(name):
    """The `Table` called `name`."""
    return TABLES[check(name)]


def rows():
    """Every row of every table, by row name (a row shared by tables appears once)."""
    found = {}
    for t in TABLES.values():
        for row in t.rows:
            found.setdefault(row.name, row)
    return found


def get(name):
    """The `Row` called `name` (see `rows()`)."""
    found = rows()
    if name not in found:
        raise ValueError(
            f"papers: unknown row {name!r}; rows are named like resnet164_spem_cifar10, "
            f"cifar_se_r_resnet50, ssa_resnet50 or ssa_mobilenet_v2 (see papers.rows())"
        )
    return found[name]


def build(row, num_classes=None, input_shape=None):
    """Builds a row's network (a `Row` or a row name) as its authors built it.

    Args:
        row: a `Row` or the name of one (e.g. `"ssa_resnet50"`, `"se_r_resnet50"`).
        num_classes: default the row's data set's classes.
        input_shape: default `(32, 32, 3)` for CIFAR rows, `(224, 224, 3)` for ImageNet.
    """
    from keras_attention.training.config import resolve

    row = get(row) if isinstance(row, str) else row
    size = row.image_size
    return resolve(row.config()).build_model(
        num_classes or row.num_classes, input_shape or (size, size, 3)
    )


def select_rows(table, rows=None):
    """The rows of `table` (a `Table` or its name) named in `rows`, in the table's order;
    all of them when `rows` is empty. An unknown name is a ValueError listing the rows."""
    table = TABLES[check(table)] if isinstance(table, str) else table
    if not rows:
        return list(table.rows)
    known = {row.name: row for row in table.rows}
    unknown = [r for r in rows if r not in known]
    if unknown:
        raise ValueError(
            f"rows: {', '.join(unknown)} not in {table.name}"
            f"{catalog.suggest(unknown[0], known)}; its rows are {', '.join(known)}"
        )
    return [row for row in table.rows if row.name in rows]


def dry_run(name, rows=None):
    """Builds every row of a table and counts it, without training: a list of dicts with the
    row, our trainable parameters and MACs (the inference network at the paper's input size)
    and the paper's figures, and whether an exactly known parameter count is met."""
    return list(dry_run_rows(name, rows))


def dry_run_rows(name, rows=None):
    """`dry_run`, one row at a time, as each is built (for the command line's progress)."""
    from keras_attention import models
    from keras_attention.explore.profiling import profile

    for row in select_rows(name, rows):
        model = build(row)
        if len(model.outputs) > 1:
            model = models.inference_model(model)
        report = profile(model)
        yield {
            "row": row,
            "parameters": report.trainable_params,
            "macs": report.macs,
            "exact_match": None
            if row.exact_params is None
            else report.trainable_params == row.exact_params,
        }

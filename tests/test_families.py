"""The families where practitioners meet attention: SE-ResNeXt, MobileNetV3, EfficientNet and
RegNetY, each with its own SE swappable for every registered block, their parameters equal
to keras.applications' and timm's, and their checkpoints converted exactly."""

import itertools
import os
import re

import keras
import numpy as np
import pytest

from keras_attention import cli, convert, layers, models

# Trainable parameters of timm 1.0.31's models (pretrained=False), read off timm itself; the
# keras.applications models of the same families have the same counts (checked below against
# keras.applications), and the SE paper's SE-ResNeXt-50 / 101 are the `legacy_` ones.
TIMM_PARAMETERS = {
    ("efficientnet", "b0"): 5_288_548,
    ("efficientnet", "b1"): 7_794_184,
    ("efficientnet", "b2"): 9_109_994,
    ("efficientnet", "b3"): 12_233_232,
    ("efficientnet", "b4"): 19_341_616,
    ("efficientnet", "b5"): 30_389_784,
    ("efficientnet", "b6"): 43_040_704,
    ("efficientnet", "b7"): 66_347_960,
    ("mobilenet_v3", "large"): 5_483_032,
    ("mobilenet_v3", "small"): 2_542_856,
    ("mobilenet_v3", "large_minimal"): 3_924_288,
    ("mobilenet_v3", "small_minimal"): 2_044_736,
    ("mobilenet_v3", "large_075"): 3_993_528,
    ("regnet", "y_002"): 3_162_996,
    ("regnet", "y_004"): 4_344_144,
    ("regnet", "y_006"): 6_055_160,
    ("regnet", "y_008"): 6_263_168,
    ("regnet", "y_016"): 11_202_430,
    ("regnet", "y_032"): 19_436_338,
    ("resnext", "resnext50_32x4d"): 25_028_904,
    ("resnext", "seresnext26d_32x4d"): 16_809_512,
    ("resnext", "seresnext50_32x4d"): 27_559_896,  # the SE paper's SE-ResNeXt-50
    ("resnext", "seresnext101_32x4d"): 48_955_416,  # the SE paper's SE-ResNeXt-101
    ("resnext", "legacy_seresnext26_32x4d"): 16_790_280,
    ("byobnet", "gcresnet50t"): 25_897_080,
    ("byobnet", "gcresnext50ts"): 15_667_320,
    ("byobnet", "eca_resnext26ts"): 10_297_988,
    ("byobnet", "resnext26ts"): 10_297_952,
}
RESNEXTS = {
    "resnext50_32x4d": dict(depth=50, attention=None),
    "seresnext26d_32x4d": dict(
        depth=26, attention="se", stem="deep", avg_down=True, attention_kwargs={"rd_divisor": 8}
    ),
    "seresnext50_32x4d": dict(depth=50, attention="se", attention_kwargs={"rd_divisor": 8}),
    "seresnext101_32x4d": dict(depth=101, attention="se", attention_kwargs={"rd_divisor": 8}),
    "legacy_seresnext26_32x4d": dict(depth=26, attention="se", stem_pool="ceil"),
}
# timm's ByobNet ResNets: the tiered stem, the block after the 3x3 convolution (timm's
# GlobalContext "gca" is ours with its defaults; EcaModule's kernel is at least 3).
_TIERED = dict(stem="deep_tiered", stride_on="3x3", attention_at="3x3")
_TS = dict(_TIERED, group_width=32, activation="silu")
BYOBNETS = {
    "gcresnet50t": dict(_TIERED, depth=50, attention="gca", stem_pool=None),
    "gcresnext50ts": dict(_TS, depth=50, attention="gca"),
    "eca_resnext26ts": dict(
        _TS, depth=26, attention="eca", attention_kwargs={"min_kernel_size": 3}
    ),
    "resnext26ts": dict(_TS, depth=26),
}


def trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def make(family, variant, **options):
    if family == "efficientnet":
        return models.efficientnet(variant, input_shape=(None, None, 3), **options)
    if family == "mobilenet_v3":
        size, _, rest = variant.partition("_")
        alpha = int(rest) / 100 if rest.isdigit() else 1.0
        return models.mobilenet_v3(size, alpha, minimalistic=rest == "minimal", **options)
    if family == "regnet":
        return models.regnet(variant, **options)
    if family == "byobnet":
        return models.resnet(**{**BYOBNETS[variant], **options})
    return models.resnext(**{**RESNEXTS[variant], **options})


@pytest.mark.parametrize("family, variant", sorted(TIMM_PARAMETERS))
def test_every_variant_has_the_references_parameters(family, variant):
    assert trainable(make(family, variant)) == TIMM_PARAMETERS[family, variant]


KERAS_APPLICATIONS = {
    **{("efficientnet", f"b{i}"): (f"EfficientNetB{i}", {}) for i in range(8)},
    ("mobilenet_v3", "large"): ("MobileNetV3Large", {}),
    ("mobilenet_v3", "small"): ("MobileNetV3Small", {}),
    ("mobilenet_v3", "large_minimal"): ("MobileNetV3Large", {"minimalistic": True}),
    ("mobilenet_v3", "small_minimal"): ("MobileNetV3Small", {"minimalistic": True}),
    ("mobilenet_v3", "large_075"): ("MobileNetV3Large", {"alpha": 0.75}),
}


@pytest.mark.slow
@pytest.mark.parametrize("family, variant", sorted(KERAS_APPLICATIONS))
def test_keras_layout_has_keras_applications_parameters(family, variant):
    name, options = KERAS_APPLICATIONS[family, variant]
    shape = None if family == "efficientnet" else (224, 224, 3)  # EfficientNet: its own size
    reference = getattr(keras.applications, name)(weights=None, input_shape=shape, **options)
    # Ours equals TIMM_PARAMETERS (the test above), so it equals keras.applications' too.
    assert trainable(reference) == TIMM_PARAMETERS[family, variant]


BLOCK_PARAMETERS = {  # the family's own SE: its two layers, weights and biases, every position
    ("efficientnet", "b0"): 5_288_548 - 4_652_008,
    # 72, 120, 120, 480, 672, 672, 960 and 960 expanded channels, a quarter rounded to 8
    ("mobilenet_v3", "large"): 1_512_280,
    ("regnet", "y_002"): 478_204,
    ("resnext", "seresnext50_32x4d"): 27_559_896 - 25_028_904,
}


@pytest.mark.parametrize("family, variant", sorted(BLOCK_PARAMETERS))
def test_attention_none_removes_exactly_the_blocks_parameters(family, variant):
    with_se = make(family, variant)
    without = make(family, variant, attention=None)
    se = [layer for layer in with_se.layers if isinstance(layer, layers.SqueezeExcitation)]
    in_blocks = sum(layer.count_params() for layer in se)
    assert trainable(with_se) - trainable(without) == in_blocks == BLOCK_PARAMETERS[family, variant]
    assert not any(isinstance(layer, layers.AttentionBlock) for layer in without.layers)


def test_the_familys_own_se_has_the_papers_widths_and_activations():
    """EfficientNet: a quarter of the block's input, SiLU; MobileNetV3: a quarter of the
    expanded channels rounded to 8, ReLU, hard sigmoid; RegNetY: a quarter of the block's
    input, placed after the grouped 3x3 (on the bottleneck's width)."""
    efficientnet = models.efficientnet("b0")
    se = efficientnet.get_layer("block2a_attention")  # 16 in, 96 expanded
    assert (se.squeeze.units, se.activation, se.gate_name) == (4, "swish", "sigmoid")
    assert efficientnet.get_layer("block1a_attention").squeeze.units == 8  # 32 in, no expansion
    mobilenet = models.mobilenet_v3("large")
    se = mobilenet.get_layer("block3_attention")  # 24 in, 72 expanded
    assert (se.squeeze.units, se.activation, se.gate_name) == (24, "relu", "hard_sigmoid")
    assert not any("attention" in layer.name for layer in mobilenet.layers[:30])  # blocks 0-2
    regnet = models.regnet("y_002")
    se = regnet.get_layer("stage2_block1_attention")  # 24 in, 56 wide
    assert se.squeeze.units == 6 and se.input.shape[-1] == 56
    # A width the user gives replaces the family's at every position; other settings stay.
    se = models.efficientnet("b0", attention_kwargs={"reduction": 8}).get_layer("block2a_attention")
    assert (se.squeeze.units, se.activation) == (96 // 8, "swish")


def _randomize_batch_norms(model, seed=0):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights(
                [
                    rng.uniform(0.5, 1.5, gamma.shape),
                    rng.normal(0, 0.1, beta.shape),
                    rng.normal(0, 0.1, mean.shape),
                    rng.uniform(0.5, 1.5, variance.shape),
                ]
            )


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, options",
    [
        ("EfficientNetB0", {}),
        ("MobileNetV3Large", {}),
        ("MobileNetV3Small", {}),
        ("MobileNetV3Small", {"alpha": 0.75, "minimalistic": True}),
    ],
)
def test_keras_applications_weights_copied_give_the_same_outputs(name, options):
    reference = getattr(keras.applications, name)(
        weights=None, input_shape=(64, 64, 3), classes=7, classifier_activation=None, **options
    )
    _randomize_batch_norms(reference)
    ours = convert.from_keras(reference)
    assert trainable(ours) == trainable(reference)
    x = np.random.default_rng(1).uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    expected = np.asarray(reference(x, training=False))
    got = np.asarray(ours(x, training=False))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


def test_from_keras_refuses_what_it_cannot_read(tmp_path):
    reference = keras.applications.MobileNetV3Small(weights=None, input_shape=(32, 32, 3))
    with pytest.raises(ValueError, match="efficientnet_b9.*did you mean 'efficientnet_b7'"):
        convert.from_keras(reference, arch="efficientnet_b9")
    with pytest.raises(ValueError, match="cannot tell the architecture of Keras model 'plain'"):
        convert.from_keras(keras.Sequential([keras.layers.Dense(2)], name="plain"))
    with pytest.raises(ValueError, match="has no layer 'block0_attention' for Keras layer"):
        convert.from_keras(reference, arch="mobilenet_v3_large")
    damaged = tmp_path / "model.keras"
    damaged.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="model.keras is damaged or not a Keras model"):
        convert.from_keras_file(str(damaged), "keras:mobilenet_v3_small")


@pytest.mark.slow
def test_convert_command_reads_a_keras_model_and_its_weights_file(tmp_path, capsys):
    reference = keras.applications.MobileNetV3Small(
        weights=None, input_shape=(32, 32, 3), classifier_activation=None
    )
    _randomize_batch_norms(reference, seed=3)
    reference.save(tmp_path / "small.keras")
    reference.save_weights(tmp_path / "small.weights.h5")
    x = np.random.default_rng(2).uniform(0, 255, (1, 32, 32, 3)).astype("float32")
    expected = np.asarray(reference(x, training=False))
    for source in ("small.keras", "small.weights.h5"):
        out = tmp_path / f"from_{source.split('.')[1]}.keras"
        argv = ["convert", str(tmp_path / source), "--arch", "keras:mobilenet_v3_small"]
        assert cli.main([*argv, "--output", str(out)]) == 0
        assert "2,542,856 trainable parameters" in capsys.readouterr().out
        if source.endswith(".keras"):  # the weights file has no 32x32 input: Keras' default
            got = np.asarray(keras.saving.load_model(out)(x, training=False))
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert (
        cli.main(
            [
                "convert",
                "x.pth",
                "--arch",
                "keras:mobilenet_v3_small",
                "--output",
                str(tmp_path / "y.keras"),
            ]
        )
        == 2
    )
    assert "reads a .keras or .h5 file" in capsys.readouterr().err


# --- every block in every family ------------------------------------------------------------------

FAMILIES = {
    "efficientnet_b0": lambda **kw: models.efficientnet("b0", **kw),
    "mobilenet_v3_small": lambda **kw: models.mobilenet_v3("small", **kw),
    "regnety_002": lambda **kw: models.regnet("y_002", **kw),
    "resnext26_32x4d": lambda **kw: models.resnext(26, **kw),
}
POSITIONS = {
    "efficientnet_b0": 16,
    "mobilenet_v3_small": 9,
    "regnety_002": 13,
    "resnext26_32x4d": 8,
}
# SGE's 64 groups must divide the channels: the narrow positions need fewer.
BLOCK_KWARGS = {"sge": {"groups": 8}}
# FcaNet's 16 frequency groups need a multiple of 16 channels: MobileNetV3-Small has 120 and
# RegNetY-200MF 24 at some positions, so the model is refused there, naming the position.
REFUSED = {
    ("fca", "mobilenet_v3_small"): "block6_attention (120 channels",
    ("fca", "regnety_002"): "stage1_block1_attention (24 channels",
}


def cycling(names):
    """An attention callable giving the next block of `names` at each position (a network
    that holds several blocks, one per position)."""
    order = itertools.cycle(names)

    def make(name=None, data_format=None):
        block = next(order)
        return layers.get(
            block, name=f"{name}_{block}", data_format=data_format, **BLOCK_KWARGS.get(block, {})
        )

    return make


def family_groups():
    """(family, blocks): every block that fits the family, as many per network as it has
    positions, so that 10 networks hold the 4 x 22 combinations."""
    for family, size in POSITIONS.items():
        names = [n for n in layers.names() if (n, family) not in REFUSED]
        for start in range(0, len(names), size):
            yield family, tuple(names[start : start + size])


@pytest.mark.slow
@pytest.mark.parametrize(
    "family, blocks", list(family_groups()), ids=lambda v: v if isinstance(v, str) else v[0]
)
def test_every_family_with_every_block_builds_runs_saves_reloads_and_is_one_xnnpack_partition(
    family, blocks, tmp_path
):
    from keras_attention import export

    model = FAMILIES[family](attention=cycling(blocks), num_classes=5, input_shape=(32, 32, 3))
    found = [layer for layer in model.layers if isinstance(layer, layers.AttentionBlock)]
    assert len(found) == POSITIONS[family]
    assert {type(b) for b in found} == {layers.registry.resolve(n) for n in blocks}
    x = np.random.default_rng(0).random((2, 32, 32, 3), dtype="float32")
    expected = np.asarray(model(x, training=False))
    assert expected.shape == (2, 5) and np.isfinite(expected).all()
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(np.asarray(reloaded(x, training=False)), expected, atol=1e-5)
    # The whole network in XNNPACK: no op of any block left to TFLite's reference kernels.
    interpreter = export.batch1_interpreter(export.convert_tflite(model))
    assert export.xnnpack_partitions(interpreter) == (1, True)


def test_every_block_is_in_some_network_of_every_family():
    covered = {(name, family) for family, blocks in family_groups() for name in blocks}
    everything = {(name, family) for name in layers.names() for family in FAMILIES}
    assert covered | set(REFUSED) == everything


@pytest.mark.parametrize("block, family", sorted(REFUSED))
def test_fcanet_is_refused_where_the_channels_are_not_multiples_of_16(block, family):
    with pytest.raises(
        ValueError, match=re.escape(f"'{block}' cannot sit at {REFUSED[block, family]}")
    ):
        FAMILIES[family](attention=block, num_classes=5, input_shape=(32, 32, 3))


def test_a_block_that_cannot_sit_at_a_position_is_refused_naming_it():
    with pytest.raises(ValueError) as error:
        models.mobilenet_v3("small", attention="sge", input_shape=(32, 32, 3))
    message = str(error.value)
    assert "'sge' cannot sit at block0_attention (16 channels" in message
    assert "groups=64" in message


@pytest.mark.parametrize(
    "call, expected",
    [
        (lambda: models.efficientnet("b9"), "unknown variant 'b9'; expected one of b0, b1"),
        (
            lambda: models.mobilenet_v3("medium"),
            "unknown size 'medium'; expected one of large, small",
        ),
        (lambda: models.regnet("y_003"), "unknown variant 'y_003'"),
        (lambda: models.resnext(34), "depth must be one of 26, 50, 101, 152"),
        (lambda: models.build("efficientnet_b9"), "did you mean 'efficientnet_b7'"),
        (lambda: models.build("mobilenet_v3_medium"), "did you mean 'mobilenet_v3_small'"),
        (lambda: models.efficientnet("b0", layout="timm"), "unknown layout 'timm'"),
        (lambda: models.resnet(50, attention_at="end"), "unknown attention_at 'end'"),
        (lambda: models.resnet(50, activation="gelu"), "unknown activation 'gelu'"),
        (lambda: models.resnet(50, stem_pool=None), "the 7x7 stem needs its pool"),
        (lambda: models.resnext(50, group_width=32), "group_width=32, cardinality=32"),
    ],
)
def test_unknown_variants_are_one_line_naming_the_accepted_ones(call, expected):
    with pytest.raises(ValueError, match=expected.replace("(", r"\(")) as error:
        call()
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("resnext50_32x4d", 25_028_904),
        ("efficientnet_b0", 5_288_548),
        ("mobilenet_v3_large", 5_483_032),
        ("mobilenet_v3_small_minimal", 2_044_736),
        ("regnety_002", 3_162_996),
    ],
)
def test_models_build_names_the_new_families(name, expected):
    own = "se" if not name.startswith("resnext") and "minimal" not in name else None
    assert trainable(models.build(name, own)) == expected


def test_channels_first_families():
    for make_model in (
        lambda: models.efficientnet("b0", input_shape=(3, 32, 32), data_format="channels_first"),
        lambda: models.mobilenet_v3("small", input_shape=(3, 32, 32), data_format="channels_first"),
        lambda: models.regnet("y_002", input_shape=(3, 32, 32), data_format="channels_first"),
    ):
        model = make_model()
        x = np.random.default_rng(0).random((1, 3, 32, 32), dtype="float32")
        assert np.isfinite(np.asarray(model(x, training=False))).all()


# --- timm's PyTorch layouts -----------------------------------------------------------------------

TIMM_CHECKS = [
    ("efficientnet_b0", 64),
    ("tf_efficientnet_b0", 65),
    ("mobilenetv3_large_100", 64),
    ("tf_mobilenetv3_small_100", 65),
    ("tf_mobilenetv3_large_minimal_100", 64),
    ("regnety_002", 64),
    ("seresnext26d_32x4d", 64),
    ("legacy_seresnext26_32x4d", 65),
    ("gcresnet50t", 64),  # no stem pool: its last stem convolution strides
    ("eca_resnext26ts", 65),  # SiLU before the stem's max pool, odd sizes
]


@pytest.mark.slow
@pytest.mark.parametrize("name, size", TIMM_CHECKS)
def test_timm_layouts_give_the_pytorch_references_logits(name, size):
    torch = pytest.importorskip("torch")
    import torch_families

    net = torch_families.randomize(torch_families.build(name, num_classes=10))
    model = convert.from_torch(f"timm:{name}", net.state_dict(), input_shape=(size, size, 3))
    x = np.random.default_rng(4).standard_normal((2, 3, size, size)).astype("float32")
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    got = np.asarray(model(x.transpose(0, 2, 3, 1), training=False))
    scale = np.abs(expected).max()
    assert np.abs(got - expected).max() <= 1e-4 * scale, (np.abs(got - expected).max(), scale)
    # The two images differ in their logits, so the comparison is not of a constant.
    assert np.abs(expected[0] - expected[1]).max() > 1e-3 * scale


def test_a_checkpoint_of_another_variant_is_refused_naming_keys():
    torch = pytest.importorskip("torch")  # noqa: F841
    import torch_families

    state = torch_families.build("mobilenetv3_small_100", num_classes=10).state_dict()
    with pytest.raises(ValueError, match="does not fit.*(missing|unexpected)"):
        convert.from_torch("timm:mobilenetv3_large_100", state, input_shape=(32, 32, 3))
    state = torch_families.build("efficientnet_b0", num_classes=10).state_dict()
    with pytest.raises(ValueError, match="has shape .* the network expects|does not fit"):
        convert.from_torch("timm:efficientnet_b1", state, input_shape=(32, 32, 3))


if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":  # pragma: no cover
    pytestmark = pytest.mark.skip("the families' matrix runs on TensorFlow")

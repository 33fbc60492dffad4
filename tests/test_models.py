"""Model factories: the papers' parameter counts and MACs, every block in every backbone, the
SE-R wiring, attach_attention and profile."""

import keras
import numpy as np
import pytest

import keras_attention as ka
from keras_attention import layers, models

pytestmark = pytest.mark.any_backend


def trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


# --- the papers' figures -----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "attention, num_classes, expected",
    [
        (None, 10, 1_704_154),
        ("spem", 10, 1_736_518),
        (None, 100, 1_727_284),
        ("spem", 100, 1_759_648),
    ],
)
def test_spem_resnet164_parameters(attention, num_classes, expected):
    assert trainable(models.cifar_resnet(164, attention, num_classes=num_classes)) == expected


# depth: (SE-ResNet, SE-R-ResNet (paper Table 1: 26.145M / 33.531M / 57.243M), MACs G SE,
# MACs G SE-R (paper Table 2))
SE_R_TARGETS = {
    34: (21_655_420, 26_144_836, 1.163, 1.169),
    50: (28_778_692, 33_530_764, 1.315, 1.323),
    101: (52_272_964, 57_242_636, 2.538, 2.546),
}


@pytest.mark.slow
@pytest.mark.parametrize("depth", sorted(SE_R_TARGETS))
def test_se_and_se_r_resnet_parameters_and_macs(depth):
    se_params, se_r_params, se_macs, se_r_macs = SE_R_TARGETS[depth]
    se = models.cifar_se_resnet(depth, reduction=8, num_classes=100)
    se_r = models.cifar_se_resnet(depth, reduction=8, num_classes=100, aux_positions=(2, 3))
    assert trainable(se) == se_params
    assert trainable(se_r) == se_r_params
    assert ka.profile(se).macs / 1e9 == pytest.approx(se_macs, rel=0.01)
    assert ka.profile(se_r).macs / 1e9 == pytest.approx(se_r_macs, rel=0.01)


@pytest.mark.slow
@pytest.mark.parametrize("depth, expected", [(34, 21_498_000), (50, 26_262_804), (101, 47_527_764)])
def test_se_resnet_with_the_codes_own_reduction_16(depth, expected):
    assert trainable(models.cifar_se_resnet(depth, reduction=16)) == expected


def test_paper_aux_loss_weights():
    assert models.PAPER_AUX_LOSS_WEIGHTS == {34: (0.4, 0.4), 50: (0.3, 0.3), 101: (0.3, 0.2)}


# --- parameter counts written out, for every depth the README names ------------------------------


def _conv(c_in, c_out, k, bias=False):
    return c_in * c_out * k * k + (c_out if bias else 0)


def _residual_params(c_in, planes, stride, bottleneck, bias=False, se_reduction=None, context=0):
    """A post-activation residual block: convolutions, BatchNorms (2 per channel), shortcut and
    an SE block (2C^2/r + C/r + C, with `context` extra inputs) on its output channels."""
    if bottleneck:
        out = 4 * planes
        n = (
            _conv(c_in, planes, 1, bias)
            + _conv(planes, planes, 3, bias)
            + _conv(planes, out, 1, bias)
        )
        n += 2 * (planes + planes + out)
    else:
        out = planes
        n = _conv(c_in, planes, 3, bias) + _conv(planes, planes, 3, bias) + 2 * 2 * planes
    if stride != 1 or c_in != out:
        n += _conv(c_in, out, 1, bias) + 2 * out
    if se_reduction:
        hidden = out // se_reduction
        n += (out + context) * hidden + hidden + hidden * out + out
    return n, out


def _stages(c_in, widths, counts, bottleneck, **block):
    total = 0
    for stage, (planes, count) in enumerate(zip(widths, counts, strict=True)):
        for i in range(count):
            stride = 2 if stage and i == 0 else 1
            n, c_in = _residual_params(c_in, planes, stride, bottleneck, **block)
            total += n
    return total, c_in


def cifar_resnet_params(depth, classes=10):
    bottleneck = depth in (83, 164, 245, 326)
    n = (depth - 2) // (9 if bottleneck else 6)
    body, out = _stages(16, (16, 32, 64), (n, n, n), bottleneck)
    return _conv(3, 16, 3) + 2 * 16 + body + out * classes + classes


def imagenet_resnet_params(depth, classes=1000):
    kind, counts = {
        34: ("basic", (3, 4, 6, 3)),
        50: ("bottleneck", (3, 4, 6, 3)),
        101: ("bottleneck", (3, 4, 23, 3)),
        152: ("bottleneck", (3, 8, 36, 3)),
    }[depth]
    body, out = _stages(64, (64, 128, 256, 512), counts, kind == "bottleneck")
    return _conv(3, 64, 7) + 2 * 64 + body + out * classes + classes


def cifar_se_resnet_params(depth, classes=100, reduction=8):
    counts = {50: (3, 4, 6, 3), 152: (3, 8, 36, 3)}[depth]
    body, out = _stages(64, (64, 128, 256, 512), counts, True, bias=True, se_reduction=reduction)
    return _conv(3, 64, 3, bias=True) + 2 * 64 + body + out * classes + classes


def test_the_written_out_counts_agree_with_the_papers_exact_figures():
    assert cifar_resnet_params(164) == 1_704_154
    assert imagenet_resnet_params(50) == 25_557_032
    assert cifar_se_resnet_params(50) == 28_778_692


@pytest.mark.slow
@pytest.mark.parametrize("depth", [56, 110, 83, 245, 326])
def test_every_readme_cifar_depth(depth):
    assert trainable(models.cifar_resnet(depth)) == cifar_resnet_params(depth)


@pytest.mark.slow
@pytest.mark.parametrize("depth", [34, 101, 152])
def test_every_readme_imagenet_depth(depth):
    assert trainable(models.resnet(depth)) == imagenet_resnet_params(depth)


@pytest.mark.slow
def test_cifar_se_resnet152():
    assert trainable(models.cifar_se_resnet(152)) == cifar_se_resnet_params(152)


@pytest.mark.slow
def test_se_mobilenet_v2_parameters():
    assert trainable(models.mobilenet_v2(1.0, "se")) == 4_076_486


@pytest.mark.slow
@pytest.mark.parametrize(
    "attention, expected", [(None, 25_557_032), ("se", 28_088_024), ("ssa", 25_557_064)]
)
def test_imagenet_resnet50_parameters(attention, expected):
    assert trainable(models.resnet(50, attention)) == expected


@pytest.mark.slow
def test_imagenet_resnet50_macs():
    assert ka.profile(models.resnet(50)).macs / 1e9 == pytest.approx(3.86, rel=0.01)
    # torchvision's layout strides the 3x3: same parameters, more MACs.
    v15 = models.resnet(50, stride_on="3x3")
    assert trainable(v15) == 25_557_032
    assert ka.profile(v15).macs / 1e9 == pytest.approx(4.09, rel=0.01)


@pytest.mark.slow
def test_mobilenet_v2_matches_keras_own():
    ours = models.mobilenet_v2(1.0)
    theirs = keras.applications.MobileNetV2(weights=None, alpha=1.0)
    assert trainable(ours) == trainable(theirs) == 3_504_872
    assert ours.count_params() == theirs.count_params()
    macs = ka.profile(ours).macs
    assert macs == ka.profile(theirs).macs
    assert macs / 1e6 == pytest.approx(300, rel=0.01)


@pytest.mark.slow
@pytest.mark.parametrize("alpha", [0.35, 0.5, 1.4])
def test_mobilenet_v2_width_multiplier(alpha):
    ours = models.mobilenet_v2(alpha, input_shape=(96, 96, 3))
    theirs = keras.applications.MobileNetV2(weights=None, alpha=alpha, input_shape=(96, 96, 3))
    assert trainable(ours) == trainable(theirs)


# --- every block in every backbone -------------------------------------------------------------

FACTORIES = {
    "cifar_resnet20": (lambda **kw: models.cifar_resnet(20, **kw), (32, 32, 3), (10,)),
    "cifar_resnet11_bottleneck": (
        lambda **kw: models.cifar_resnet(
            11, block="bottleneck", num_classes=5, input_shape=(16, 16, 3), **kw
        ),
        (16, 16, 3),
        (5,),
    ),
    "preact_resnet20": (
        lambda **kw: models.cifar_resnet(20, preact=True, input_shape=(16, 16, 3), **kw),
        (16, 16, 3),
        (10,),
    ),
    "cifar_se_resnet18": (
        lambda **kw: models.cifar_se_resnet(18, num_classes=7, input_shape=(16, 16, 3), **kw),
        (16, 16, 3),
        (7,),
    ),
    "resnet18": (
        lambda **kw: models.resnet(18, num_classes=4, input_shape=(64, 64, 3), **kw),
        (64, 64, 3),
        (4,),
    ),
    "resnet50_features": (
        lambda **kw: models.resnet(50, include_top=False, input_shape=(32, 32, 3), **kw),
        (32, 32, 3),
        (1, 1, 2048),
    ),
    "mobilenet_v2_0.35": (
        lambda **kw: models.mobilenet_v2(0.35, num_classes=3, input_shape=(32, 32, 3), **kw),
        (32, 32, 3),
        (3,),
    ),
}
# SGE's 64 groups must divide the channels: narrow layers need fewer groups.
BLOCK_KWARGS = {"sge": {"groups": 8}}


# Every factory with every block on TensorFlow. The JAX and PyTorch runs (test_packaging.py,
# test_backends.py) build each block into one factory and each factory with SE: how a block
# enters a factory does not depend on the backend, and the whole matrix there would take most
# of CI's time.
if keras.backend.backend() == "tensorflow":
    FACTORY_CASES = [(f, b) for f in sorted(FACTORIES) for b in layers.names()]
else:
    FACTORY_CASES = [("cifar_resnet11_bottleneck", b) for b in layers.names()]
    FACTORY_CASES += [(f, "se") for f in sorted(FACTORIES) if f != "cifar_resnet11_bottleneck"]


@pytest.mark.parametrize("factory, block", FACTORY_CASES)
def test_every_factory_builds_with_every_block(factory, block):
    make, input_shape, output_shape = FACTORIES[factory]
    model = make(attention=block, attention_kwargs=BLOCK_KWARGS.get(block))
    blocks = [layer for layer in model.layers if isinstance(layer, layers.AttentionBlock)]
    assert blocks and all(type(b) is layers.registry.resolve(block) for b in blocks)
    x = np.random.default_rng(0).random((2, *input_shape), dtype="float32")
    assert tuple(run_once(model, x).shape) == (2, *output_shape)


def run_once(model, x):
    """`model` on `x` in inference mode, the fastest way for one call: on TensorFlow an eager
    call (a quarter of predict's time: no graph to compile); on JAX, where an eager call
    compiles each op for its shapes (a minute for MobileNetV2), `predict`'s one compiled step."""
    if keras.backend.backend() == "tensorflow":
        return model(x, training=False)
    return model.predict(x, verbose=0)


# A training step compiles per block; on JAX and PyTorch, the paper blocks and a sample of the
# zoo's kinds of op (each block's numerics run on every backend in test_layer_numerics.py).
if keras.backend.backend() == "tensorflow":
    FIT_BLOCKS = layers.names()
else:
    FIT_BLOCKS = ["se", "ssa", "spem", "cbam", "eca", "srm", "sge", "coord", "gc", "bam", "fca"]


@pytest.mark.parametrize("block", FIT_BLOCKS)
def test_cifar_resnet8_with_every_block_fits_one_step(block):
    # ResNet-8: a block in each stage, a third of ResNet-20's graph to compile.
    model = models.cifar_resnet(
        8, block, input_shape=(16, 16, 3), attention_kwargs=BLOCK_KWARGS.get(block)
    )
    model.compile(
        optimizer=keras.optimizers.SGD(0.1),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    x = np.random.default_rng(5).random((4, 16, 16, 3), dtype="float32")
    before = [keras.ops.convert_to_numpy(w).copy() for w in model.trainable_weights]
    loss = model.train_on_batch(x, np.arange(4) % 10)
    assert np.isfinite(loss)
    after = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    changed = sum(np.abs(a - b).max() > 0 for a, b in zip(after, before, strict=True))
    # gca's add branch ends in a zero-initialised layer (timm's init): on the first step only
    # that layer of the branch has a gradient.
    assert changed > (0.55 if block == "gca" else 0.9) * len(before)


def test_attention_goes_on_every_residual_branch():
    model = models.cifar_resnet(20, "se")
    adds = [layer for layer in model.layers if isinstance(layer, keras.layers.Add)]
    blocks = [layer for layer in model.layers if isinstance(layer, layers.SqueezeExcitation)]
    assert len(adds) == len(blocks) == 9
    for add in adds:
        sources = [t._keras_history[0] for t in add._inbound_nodes[0].arguments.keras_tensors]
        assert isinstance(sources[1], layers.SqueezeExcitation)


def test_factories_accept_classes_instances_and_callables():
    assert isinstance(
        models.cifar_resnet(20, layers.ECA).get_layer("stage1_block1_attention"), layers.ECA
    )
    template = layers.SqueezeExcitation(reduction=2)
    model = models.cifar_resnet(20, template)
    copies = [layer for layer in model.layers if isinstance(layer, layers.SqueezeExcitation)]
    assert len({id(c) for c in copies}) == 9 and all(c.reduction == 2 for c in copies)
    model = models.cifar_resnet(20, lambda: keras.layers.Identity())
    assert sum(isinstance(layer, keras.layers.Identity) for layer in model.layers) == 9


def test_se_resnet_reduction_reaches_blocks_that_take_one():
    model = models.cifar_se_resnet(18, reduction=4, input_shape=(16, 16, 3))
    assert model.get_layer("stage1_block1_attention").reduction == 4
    # SSA takes no reduction ratio: the family's default is not forced on it.
    models.cifar_se_resnet(18, attention="ssa", input_shape=(16, 16, 3))


def test_channels_first_model():
    model = models.cifar_resnet(20, "cbam", data_format="channels_first", input_shape=(3, 16, 16))
    assert model.predict(np.zeros((2, 3, 16, 16), "float32"), verbose=0).shape == (2, 10)


# --- SE-R --------------------------------------------------------------------------------------


def _se_r(feed_attention, **kwargs):
    return models.cifar_se_resnet(
        18,
        num_classes=5,
        aux_positions=(2, 3),
        feed_attention=feed_attention,
        input_shape=(16, 16, 3),
        **kwargs,
    )


def _main(model, x):
    return model.predict(x, verbose=0)[0]


@pytest.mark.parametrize("feed_attention", [True, False])
def test_aux_heads_feed_attention_only_in_se_r(feed_attention):
    model = _se_r(feed_attention)
    assert model.output_names == ["main", "aux1", "aux2"]
    x = np.random.default_rng(1).random((2, 16, 16, 3), dtype="float32")
    before = _main(model, x)
    classifier = model.get_layer("aux1").classifier
    classifier.kernel.assign(classifier.kernel * 10.0 + 0.5)
    change = np.abs(_main(model, x) - before).max()
    if feed_attention:
        assert change > 1e-4
        assert model.get_layer("stage3_block1_attention").context_units == 5
        assert model.get_layer("stage4_block1_attention").context_units == 5
        assert model.get_layer("stage2_block1_attention").context_units == 0
    else:
        assert change == 0.0


def test_se_r_context_options():
    model = _se_r(True, aux_context="softmax", stop_gradient=True)
    context = model.get_layer("aux1_context")
    assert context.activation == "softmax" and context.stop_gradient


def test_inference_model_keeps_the_heads_that_feed_attention():
    x = np.random.default_rng(2).random((2, 16, 16, 3), dtype="float32")
    se_r, se_a = _se_r(True), _se_r(False)
    for model, keeps_aux in ((se_r, True), (se_a, False)):
        single = models.inference_model(model)
        assert len(single.outputs) == 1
        np.testing.assert_allclose(single.predict(x, verbose=0), _main(model, x), rtol=1e-6)
        names = {layer.name for layer in single.layers}
        assert ("aux1" in names) == keeps_aux


def test_se_r_trains_with_loss_weights_by_name():
    model = _se_r(True)
    weights = models.PAPER_AUX_LOSS_WEIGHTS[50]
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(
        optimizer="sgd",
        loss={"main": loss, "aux1": loss, "aux2": loss},
        loss_weights={"main": 1.0, "aux1": weights[0], "aux2": weights[1]},
    )
    x = np.random.default_rng(3).random((4, 16, 16, 3), dtype="float32")
    y = np.arange(4) % 5
    history = model.fit(x, {"main": y, "aux1": y, "aux2": y}, epochs=1, verbose=0)
    logged = history.history
    assert {"main_loss", "aux1_loss", "aux2_loss"} <= set(logged)
    assert np.isfinite(logged["loss"][0])


def test_se_r_errors():
    with pytest.raises(ValueError, match="needs a block that takes context="):
        models.cifar_se_resnet(18, attention="ssa", aux_positions=(2,))
    with pytest.raises(ValueError, match="aux_positions must be stages 1-3"):
        models.cifar_se_resnet(18, aux_positions=(4,))
    with pytest.raises(ValueError, match="depth must be one of"):
        models.cifar_se_resnet(20)


def test_depth_errors():
    with pytest.raises(ValueError, match=r"depth 21 does not fit basic blocks; expected 6n \+ 2"):
        models.cifar_resnet(21)
    with pytest.raises(ValueError, match="depth must be one of"):
        models.resnet(42)


# --- placement, read off the graph ------------------------------------------------------------


def _source(layer, index=0):
    """The layer whose output is argument `index` of `layer`'s first call."""
    return layer._inbound_nodes[0].arguments.keras_tensors[index]._keras_history[0]


def _users(model, layer):
    return [
        other
        for other in model.layers
        if other._inbound_nodes
        and any(
            t._keras_history[0] is layer
            for node in other._inbound_nodes
            for t in node.arguments.keras_tensors
        )
    ]


@pytest.mark.parametrize(
    "make, last_bn",
    [
        (lambda: models.cifar_resnet(20, "se"), "bn2"),
        (
            lambda: models.cifar_resnet(11, "ssa", block="bottleneck", input_shape=(16, 16, 3)),
            "bn3",
        ),
        (lambda: models.resnet(18, "eca", input_shape=(64, 64, 3)), "bn2"),
        (lambda: models.resnet(50, "spem", input_shape=(64, 64, 3)), "bn3"),
    ],
)
def test_the_block_follows_the_branchs_last_batch_norm_and_feeds_the_add(make, last_bn):
    model = make()
    blocks = [layer for layer in model.layers if isinstance(layer, layers.AttentionBlock)]
    assert blocks
    for block in blocks:
        stem = block.name.removesuffix("_attention")
        source = _source(block)
        assert isinstance(source, keras.layers.BatchNormalization)
        assert source.name == f"{stem}_{last_bn}", (block.name, source.name)
        (add,) = _users(model, block)
        assert isinstance(add, keras.layers.Add) and add.name == f"{stem}_add"


def test_se_resnet_blocks_follow_the_relu_after_the_last_batch_norm():
    model = models.cifar_se_resnet(18, input_shape=(16, 16, 3))
    for block in [layer for layer in model.layers if isinstance(layer, layers.SqueezeExcitation)]:
        stem = block.name.removesuffix("_attention")
        relu = _source(block)
        assert relu.name == f"{stem}_relu2" and _source(relu).name == f"{stem}_bn2"


def test_mobilenet_v2_block_sits_on_the_expanded_channels_after_the_depthwise_conv():
    model = models.mobilenet_v2(0.35, "se", input_shape=(32, 32, 3))
    blocks = [layer for layer in model.layers if isinstance(layer, layers.SqueezeExcitation)]
    assert len(blocks) == 17
    for block in blocks:
        stem = block.name.removesuffix("_attention")
        relu = _source(block)
        assert relu.name == f"{stem}_depthwise_relu"
        depthwise = _source(_source(relu))
        assert isinstance(depthwise, keras.layers.DepthwiseConv2D)
        (project,) = _users(model, block)
        assert project.name == f"{stem}_project"
        expanded = depthwise.input.shape[-1]
        assert block.channels == expanded
        if stem != "block0":  # the first block has no expansion
            assert _source(depthwise).name == f"{stem}_expand_relu"
            assert expanded == 6 * model.get_layer(f"{stem}_expand").input.shape[-1]


def test_each_aux_head_feeds_exactly_the_next_stage():
    model = _se_r(True)
    se = {
        layer.name: layer for layer in model.layers if isinstance(layer, layers.SqueezeExcitation)
    }
    for name, block in se.items():
        stage = int(name[len("stage")])
        fed = block._inbound_nodes[0].arguments.kwargs.get("context")
        expected = {3: "aux1_context", 4: "aux2_context"}.get(stage)
        assert (fed._keras_history[0].name if fed is not None else None) == expected, name
    # Perturbing a head moves the SE outputs of the stage it feeds and of none before it.
    probe = keras.Model(model.inputs, [block.output for block in se.values()])
    x = np.random.default_rng(7).random((2, 16, 16, 3), dtype="float32")
    before = dict(zip(se, probe.predict(x, verbose=0), strict=True))
    for head, first_fed in (("aux2", 4), ("aux1", 3)):
        classifier = model.get_layer(head).classifier
        classifier.bias.assign(classifier.bias + 3.0)
        after = dict(zip(se, probe.predict(x, verbose=0), strict=True))
        for name in se:
            stage = int(name[len("stage")])
            moved = np.abs(after[name] - before[name]).max() > 1e-6
            assert moved == (stage >= first_fed), (head, name)
        before = after


# --- attach_attention --------------------------------------------------------------------------

APPLICATIONS = {
    "ResNet50": lambda: keras.applications.ResNet50(
        weights=None, input_shape=(64, 64, 3), classifier_activation=None
    ),
    "MobileNetV2": lambda: keras.applications.MobileNetV2(
        weights=None, input_shape=(64, 64, 3), classifier_activation=None
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(APPLICATIONS))
def test_attach_attention_to_keras_applications(name):
    base = APPLICATIONS[name]()
    adds = [layer for layer in base.layers if isinstance(layer, keras.layers.Add)]
    x = np.random.default_rng(4).random((2, 64, 64, 3), dtype="float32")
    expected = base.predict(x, verbose=0)

    identity = models.attach_attention(base, keras.layers.Identity)
    np.testing.assert_array_equal(identity.predict(x, verbose=0), expected)

    with_se = models.attach_attention(base, "se")
    blocks = [layer for layer in with_se.layers if isinstance(layer, layers.SqueezeExcitation)]
    assert len(blocks) == len(adds) == {"ResNet50": 16, "MobileNetV2": 10}[name]
    # The original layers and weights are reused, and only SE's weights are new.
    original = {id(v) for v in base.weights}
    assert original <= {id(v) for v in with_se.weights}
    assert trainable(with_se) == trainable(base) + sum(trainable(b) for b in blocks)
    changed = with_se.predict(x, verbose=0)
    assert np.abs(changed - expected).max() > 1e-3 * np.abs(expected).max()
    # The block sits on the residual branch, not on the shortcut.
    for block in blocks:
        source = block._inbound_nodes[0].arguments.keras_tensors[0]._keras_history[0]
        assert isinstance(source, keras.layers.BatchNormalization)
        assert not source.name.endswith("_0_bn")  # ResNet50's projection shortcut
    # The original model is unchanged.
    np.testing.assert_array_equal(base.predict(x, verbose=0), expected)


def test_attach_attention_keeps_a_single_output_model_single_output():
    base = models.cifar_resnet(8, input_shape=(16, 16, 3), include_top=False)
    attached = models.attach_attention(base, "se")
    inputs = keras.Input((16, 16, 3))
    features = attached(inputs)  # one tensor, not a list: the result composes like the base
    assert isinstance(features, keras.KerasTensor) and features.shape == (None, 4, 4, 64)
    head = keras.Model(
        inputs, keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(features))
    )
    assert head.output_shape == (None, 3)


def test_attach_attention_needs_residual_adds():
    plain = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3)])
    with pytest.raises(ValueError, match="no residual Add"):
        models.attach_attention(plain, "se")
    with pytest.raises(ValueError, match="needs a functional keras.Model"):
        models.attach_attention("resnet", "se")


# --- profile -----------------------------------------------------------------------------------


def test_profile_counts_by_hand():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(16, 3, padding="same", name="conv")(inputs)
    x = keras.layers.DepthwiseConv2D(3, strides=2, padding="same", name="dw")(x)
    x = layers.SqueezeExcitation(reduction=4, name="se")(x)
    x = layers.CBAM(reduction=4, name="cbam")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(5, name="head")(x))
    report = ka.profile(model)
    by_name = {row.name: row for row in report.layers}
    assert by_name["conv"].macs == 8 * 8 * 16 * 3 * 3 * 3
    assert by_name["dw"].macs == 4 * 4 * 16 * 3 * 3
    assert by_name["se"].macs == 16 * 4 + 4 * 16
    # CBAM: the shared MLP runs on two pooled vectors, then a 7x7 conv 2 -> 1 on 4x4.
    assert by_name["cbam"].macs == 2 * (16 * 4 + 4 * 16) + 4 * 4 * 7 * 7 * 2
    assert by_name["head"].macs == 16 * 5
    assert report.macs == sum(row.macs for row in report.layers)
    assert report.trainable_params == trainable(model)
    assert "MACs" in str(report) and report.to_dict()["macs"] == report.macs


def test_profile_needs_a_defined_input_shape():
    model = models.resnet(18, input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="fully defined input_shape"):
        ka.profile(model)
    assert ka.profile(model, (64, 64, 3)).macs > 0

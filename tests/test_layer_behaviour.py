"""Behaviour of the layers inside Keras: models, saving, gradients, dtypes, errors, registry."""

import keras
import numpy as np
import pytest
from conftest import to_numpy

from keras_attention import layers

pytestmark = pytest.mark.any_backend

SHAPE = (6, 5, 16)  # height, width, channels: small and not square

# Every layer of the library, with arguments that fit SHAPE.
BLOCKS = {
    "se": lambda: layers.SqueezeExcitation(reduction=4),
    "ssa": lambda: layers.SquashSpatialAttention(),
    "ssa_grouped": lambda: layers.SquashSpatialAttention(groups=4, squash="max"),
    "spem": lambda: layers.SPEM(),
    "cbam": lambda: layers.CBAM(reduction=4),
    "eca": lambda: layers.ECA(pooling="mix"),
    "srm": lambda: layers.SRM(),
    "sge": lambda: layers.SGE(groups=4),
    "coord": lambda: layers.CoordinateAttention(reduction=4),
    "ese": lambda: layers.EffectiveSE(pooling="avgmax"),
    "ecam": lambda: layers.ECAMLP(),
    "ceca": lambda: layers.CircularECA(),
    "ge": lambda: layers.GatherExcite(),
    "ge_local": lambda: layers.GatherExcite(extent=2),
    "ge_params": lambda: layers.GatherExcite(extent=2, extra_params=True),
    # rd 4: LayerNorm over 2 features would always give +-1 (no gradient through it).
    "gc": lambda: layers.GlobalContext(rd_ratio=0.25),
    "gca": lambda: layers.GlobalContextAdd(rd_ratio=0.25),
    "lcbam": lambda: layers.LightCBAM(),
    "scoord": lambda: layers.SimpleCoordinateAttention(),
    "ela": lambda: layers.EfficientLocalAttention(),
    "strip": lambda: layers.StripAttention(),
    "simam": lambda: layers.SimAM(),
    "triplet": lambda: layers.TripletAttention(),
    "bam": lambda: layers.BAM(reduction=4),
    "fca": lambda: layers.FcaNet(reduction=4),
}

PARAMETER_FREE = ("simam",)
# On JAX and PyTorch (test_packaging.py, test_backends.py), the paper blocks and a sample of
# the zoo, one of each kind of op (local pooling, softmax and LayerNorm, rotated planes, spread
# kernels, the DCT): every block's numerics run on every backend in test_layer_numerics.py,
# and the rest of the zoo's behaviour here would double CI's time on those backends.
if keras.backend.backend() == "tensorflow":
    CASES = BLOCKS
else:
    SAMPLE = ("se", "ssa", "ssa_grouped", "spem", "cbam", "eca", "srm", "sge", "coord")
    SAMPLE += ("ge_local", "gc", "triplet", "bam", "fca")
    CASES = {name: BLOCKS[name] for name in SAMPLE}


def test_every_registered_block_is_tested_here():
    assert set(layers.names()) <= set(BLOCKS)


def _x(batch=2, shape=SHAPE, seed=0, scale=1.0):
    return (np.random.default_rng(seed).normal(size=(batch, *shape)) * scale).astype("float32")


def _functional(block, shape=SHAPE):
    inputs = keras.Input(shape)
    y = block(inputs)
    y = keras.layers.GlobalAveragePooling2D()(y)
    return keras.Model(inputs, keras.layers.Dense(3)(y))


def _trainable_count(layer):
    return sum(int(np.prod(v.shape)) for v in layer.trainable_weights)


# --- the papers' facts -------------------------------------------------------------------------


def test_spem_starts_with_the_documented_attention_map():
    x = np.abs(_x()) + 0.5
    y = to_numpy(layers.SPEM()(x))
    expected = 1 / (1 + np.exp(2.0)) * 1 / (1 + np.exp(1.0))  # sigmoid(-2) * sigmoid(-1)
    np.testing.assert_allclose(y / x, expected, rtol=1e-6)


def test_spem_penalty_is_alpha_times_sum_of_p_squared_over_blocks():
    inputs = keras.Input(SHAPE)
    first, second = layers.SPEM(alpha=0.1), layers.SPEM(alpha=0.1)
    model = keras.Model(inputs, second(first(inputs)))
    first.pooling.mix_weights.assign([0.3, -1.2])
    second.pooling.mix_weights.assign([2.0, 0.5])
    model(_x())
    assert len(model.losses) == 2
    expected = 0.1 * (0.3**2 + 1.2**2) + 0.1 * (2.0**2 + 0.5**2)
    np.testing.assert_allclose(float(sum(model.losses)), expected, rtol=1e-6)


def test_spem_penalty_reaches_the_training_loss():
    inputs = keras.Input(SHAPE)
    block = layers.SPEM(alpha=10.0)
    y = keras.layers.GlobalAveragePooling2D()(block(inputs))
    model = keras.Model(inputs, keras.layers.Dense(1, kernel_initializer="zeros")(y))
    model.compile(optimizer="sgd", loss="mse")
    x, target = _x(), np.zeros((2, 1), "float32")
    # Zero kernel and bias: the task loss is 0, so the whole loss is the penalty 10 * 0.5.
    loss = model.evaluate(x, target, verbose=0)
    np.testing.assert_allclose(loss, 10.0 * (0.25 + 0.25), rtol=1e-5)


def test_spem_has_4c_plus_2_parameters():
    layer = layers.SPEM()
    layer.build((None, *SHAPE))
    assert _trainable_count(layer) == 4 * SHAPE[-1] + 2


@pytest.mark.parametrize("groups", [1, 2, 8])
def test_ssa_has_two_parameters_per_group(groups):
    layer = layers.SquashSpatialAttention(groups=groups)
    layer.build((None, *SHAPE))
    assert _trainable_count(layer) == 2 * groups


@pytest.mark.parametrize(
    "make, count",
    [
        # C=16, r=4: 16*4 + 4 + 4*16 + 16
        (lambda: layers.SqueezeExcitation(reduction=4), 148),
        (lambda: layers.SqueezeExcitation(reduction=4, use_bias=False), 128),
        (lambda: layers.SRM(), 4 * 16),
        (lambda: layers.SGE(groups=4), 8),
        (lambda: layers.ECA(), 3),  # k = odd(|log2(16)/2 + 1/2|) = 3
        # channel MLP 148, 7x7x2 conv 98, BN 2
        (lambda: layers.CBAM(reduction=4), 148 + 98 + 2),
        # The zoo, C=16 (REFERENCE-ZOO.md's formulas).
        (lambda: layers.EffectiveSE(), 16 * 16 + 16),
        (lambda: layers.ECAMLP(), 2 * 8 + 3 * 8 + 1),  # rd 8, k 3
        (lambda: layers.CircularECA(), 3),
        (lambda: layers.GatherExcite(), 2 * 16 * 1 + 1 + 16),  # rd round(16/16) = 1
        (lambda: layers.GatherExcite(extent=4, extra_params=True), 2 * 16 + 1 + 16 + 2 * 11 * 16),
        (lambda: layers.GatherExcite(feat_size=5, extra_params=True), 2 * 16 + 17 + 27 * 16),
        (lambda: layers.GlobalContext(), 2 * 16 * 2 + 3 * 2 + 2 * 16 + 1),  # rd 2
        (lambda: layers.GlobalContext(fuse_add=True), 2 * (2 * 16 * 2 + 3 * 2 + 16) + 17),
        (lambda: layers.LightCBAM(), 2 * 16 * 1 + 51),
        (lambda: layers.SimpleCoordinateAttention(), 3 * 16 * 8 + 8 + 2 * 16),  # rd 8
        (lambda: layers.EfficientLocalAttention(), 18 * 16),
        (lambda: layers.StripAttention(), 6 * 16),
        (lambda: layers.SimAM(), 0),
        (lambda: layers.TripletAttention(), 300),
        (lambda: layers.TripletAttention(no_spatial=True), 200),
        (lambda: layers.BAM(), 3 * 16 * 1 + 18 + 13 + 16 + 1),  # Cr 1
        (lambda: layers.FcaNet(), 16 * 16 // 8),
        # The peers' options: timm's CBAM and coordinate attention without biases.
        (lambda: layers.CBAM(reduction=4, use_bias=False), 128 + 98 + 2),
        (lambda: layers.CBAM(hidden_units=2, use_bias=False), 2 * 16 * 2 + 98 + 2),
        (lambda: layers.CoordinateAttention(reduction=4, use_bias=False), 16 * 8 + 2 * 8 * 16 + 16),
        (lambda: layers.SqueezeExcitation(rd_divisor=8), 16 * 8 + 8 + 8 * 16 + 16),
    ],
)
def test_parameter_counts(make, count):
    layer = make()
    layer.build((None, *SHAPE))
    assert _trainable_count(layer) == count


def test_eca_kernel_size_follows_channels():
    from keras_attention.layers.eca import eca_kernel_size

    assert [eca_kernel_size(c) for c in (16, 64, 256, 512, 2048)] == [3, 3, 5, 5, 7]


def test_se_context_changes_the_output():
    x, t = _x(), _x(shape=(10,), seed=3)
    layer = layers.SqueezeExcitation(reduction=4)
    y1 = to_numpy(layer(x, context=t))
    y2 = to_numpy(layer(x, context=t + 1.0))
    assert layer.squeeze.kernel.shape == (16 + 10, 4)
    assert np.abs(y1 - y2).max() > 1e-4


def test_auxiliary_classifier_structure():
    layer = layers.AuxiliaryClassifier(100)
    layer.build((None, 16, 16, 256))
    # conv 256*128, BN 2*128, Dense 2048*1024 + 1024, Dense 1024*100 + 100
    assert _trainable_count(layer) == 256 * 128 + 256 + 2048 * 1024 + 1024 + 1024 * 100 + 100
    assert layer.dropout.rate == 0.7 and layer.norm.epsilon == 1e-3
    # Dropout is active only in training: a copy without dropout gives the same inference
    # output and another training output (both use batch statistics there).
    no_dropout = layers.AuxiliaryClassifier(100, dropout=0.0)
    no_dropout.build((None, 16, 16, 256))
    no_dropout.set_weights(layer.get_weights())
    x = _x(shape=(16, 16, 256))
    np.testing.assert_allclose(
        to_numpy(layer(x, training=False)), to_numpy(no_dropout(x, training=False)), rtol=1e-6
    )
    dropped = to_numpy(layer(x, training=True)) - to_numpy(no_dropout(x, training=True))
    assert np.abs(dropped).max() > 1e-3


# --- inside Keras models -------------------------------------------------------------------


def _one_sgd_step_changes(model, variables, x, target):
    """Which of `variables` one plain SGD step on a squared-error loss changes: a variable
    changes exactly when the loss has a non-zero gradient for it (on every backend)."""
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
    before = [to_numpy(v).copy() for v in variables]
    model.train_on_batch(x, target)
    return {
        v.path: bool(np.abs(to_numpy(v) - b).max() > 0)
        for v, b in zip(variables, before, strict=True)
    }


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_reach_every_trainable_weight(name, randomize_weights):
    block = BLOCKS[name]()
    model = _functional(block)
    randomize_weights(block)
    if name in PARAMETER_FREE:
        block.build((None, *SHAPE))
        assert not block.trainable_weights
        return
    assert block.trainable_weights
    changed = _one_sgd_step_changes(model, block.trainable_weights, _x(), np.ones((2, 3)))
    # Biases that feed a BatchNormalization (coordinate attention's transform, BAM's layers
    # before their BatchNorms): BN subtracts the batch mean in training, so their gradient is
    # exactly zero, as in the authors' networks.
    before_norm = {"coord": ("transform/bias",), "bam": ("channel_fc/bias", "reduce/bias")}
    before_norm["bam"] += ("dilated1/bias", "dilated2/bias")
    # Global Context's attention bias shifts every logit of a softmax alike: no gradient.
    before_norm["gc"] = before_norm["gca"] = ("conv_attn/bias",)
    exempt = {path for path in changed if path.endswith(before_norm.get(name, ("-",)))}
    assert all(v for path, v in changed.items() if path not in exempt), changed


def test_gradients_reach_context_and_auxiliary_classifier():
    inputs = keras.Input(SHAPE)
    aux = layers.AuxiliaryClassifier(5, conv_filters=8, hidden_units=16, dropout=0.0)
    se = layers.SqueezeExcitation(reduction=4)
    logits = aux(inputs)
    model = keras.Model(inputs, se(inputs, context=logits))
    variables = aux.trainable_weights + se.trainable_weights
    changed = _one_sgd_step_changes(model, variables, _x(), np.ones((2, *SHAPE)))
    assert all(changed.values()), changed


@pytest.mark.parametrize("name", sorted(CASES))
def test_keras_file_round_trip_gives_identical_outputs(name, tmp_path, randomize_weights):
    block = BLOCKS[name]()
    model = _functional(block)
    randomize_weights(block)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = _x(seed=5)
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    assert type(loaded.layers[1]) is type(block)


def test_keras_file_round_trip_with_context_and_auxiliary_classifier(tmp_path):
    inputs = keras.Input(SHAPE)
    aux = layers.AuxiliaryClassifier(5, conv_filters=8, hidden_units=16)(inputs)
    y = layers.SqueezeExcitation(reduction=4)(inputs, context=aux)
    model = keras.Model(inputs, [keras.layers.GlobalAveragePooling2D()(y), aux])
    model.save(tmp_path / "ser.keras")
    loaded = keras.saving.load_model(tmp_path / "ser.keras")
    x = _x(seed=6)
    for a, b in zip(model.predict(x, verbose=0), loaded.predict(x, verbose=0), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", sorted(CASES))
def test_config_round_trip(name):
    block = BLOCKS[name]()
    clone = type(block).from_config(block.get_config())
    assert clone.get_config() == block.get_config()
    serialized = keras.saving.serialize_keras_object(block)
    assert serialized["registered_name"].startswith("keras_attention>")
    assert type(keras.saving.deserialize_keras_object(serialized)) is type(block)


@pytest.mark.parametrize("name", sorted(CASES))
def test_works_in_sequential_and_subclassed_models(name, randomize_weights):
    x = _x()
    block = BLOCKS[name]()
    sequential = keras.Sequential([keras.Input(SHAPE), block, keras.layers.Flatten()])
    randomize_weights(block)
    expected = to_numpy(block(x)).reshape(2, -1)
    assert np.abs(expected - x.reshape(2, -1)).max() > 1e-3  # the block changes its input
    np.testing.assert_allclose(to_numpy(sequential(x)), expected, rtol=1e-6)

    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.conv = keras.layers.Conv2D(SHAPE[-1], 3, padding="same")
            self.block = BLOCKS[name]()

        def call(self, inputs, training=None):
            return self.block(self.conv(inputs), training=training)

    net = Net()
    assert net(x).shape == x.shape
    assert len(net.block.trainable_weights) > 0 or name in PARAMETER_FREE


@pytest.mark.parametrize("name", sorted(CASES))
def test_unknown_batch_and_spatial_sizes(name):
    inputs = keras.Input((None, None, SHAPE[-1]))
    model = keras.Model(inputs, BLOCKS[name]()(inputs))
    for shape in [(4, 4, 16), (9, 3, 16)]:
        x = _x(batch=3, shape=shape)
        assert model.predict(x, verbose=0).shape == x.shape


# On TensorFlow, tracing fit's graph for a chain of every block takes 17 s of the 18 a test
# below spends; eagerly it is 1.6 s with the same losses. Each block's graph-mode fit is
# test_models.py's `test_cifar_resnet8_with_every_block_fits_one_step`. (JAX's jit is faster
# than its eager mode, and stays.)
CHAIN_EAGERLY = keras.backend.backend() == "tensorflow"


def test_model_fit_trains_with_every_block():
    inputs = keras.Input(SHAPE)
    y = inputs
    for name in sorted(CASES):
        y = CASES[name]()(y)
    y = keras.layers.GlobalAveragePooling2D()(y)
    model = keras.Model(inputs, keras.layers.Dense(2)(y))
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile("adam", loss, run_eagerly=CHAIN_EAGERLY)
    history = model.fit(_x(batch=8), np.arange(8) % 2, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


# --- dtype policies ----------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_mixed_precision_computes_the_map_in_float32(name, policy, randomize_weights):
    # Activations of 300: products of activations (9e4) overflow float16's 65504.
    x = np.abs(_x(scale=300.0)) + 1.0
    reference = BLOCKS[name]()
    reference.build(x.shape)
    randomize_weights(reference)
    mixed = type(reference).from_config({**reference.get_config(), "dtype": policy})
    mixed.build(x.shape)
    mixed.set_weights(reference.get_weights())
    half = policy.split("_")[1]
    y = mixed(x, training=False)
    assert keras.backend.standardize_dtype(y.dtype) == half
    y = to_numpy(keras.ops.cast(y, "float32"))
    assert np.all(np.isfinite(y))
    # The map the block multiplied by, y / x, against the float32 map of the same (rounded)
    # input: a map computed in float32 is off only by the roundings of the map and of the
    # product to the compute dtype (2 units in the last place); computed in 16 bits its sums
    # of hundreds of products lose far more.
    rounded = to_numpy(keras.ops.cast(keras.ops.cast(x, half), "float32"))
    gate = y / rounded
    expected = to_numpy(reference(rounded, training=False)) / rounded
    ulp = {"float16": 2.0**-10, "bfloat16": 2.0**-7}[half]
    np.testing.assert_allclose(gate, expected, rtol=2.5 * ulp, atol=1e-6)
    assert all(keras.backend.standardize_dtype(v.dtype) == "float32" for v in mixed.weights)


def test_global_mixed_float16_policy_trains():
    keras.config.set_dtype_policy("mixed_float16")
    inputs = keras.Input(SHAPE)
    y = inputs
    for name in sorted(CASES):
        y = CASES[name]()(y)
    y = keras.layers.GlobalAveragePooling2D()(y)
    model = keras.Model(inputs, keras.layers.Dense(2, dtype="float32")(y))
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile("adam", loss, run_eagerly=CHAIN_EAGERLY)
    history = model.fit(_x(batch=8, scale=100.0), np.arange(8) % 2, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_wrong_rank_is_a_clear_error(name):
    block = BLOCKS[name]()
    with pytest.raises(ValueError) as error:
        block.build((None, 8, 16))
    message = str(error.value)
    assert type(block).__name__ in message and block.name in message
    assert "(batch, height, width, channels)" in message and "(None, 8, 16)" in message


@pytest.mark.parametrize("name", sorted(CASES))
def test_undefined_channels_is_a_clear_error(name):
    block = BLOCKS[name]()
    with pytest.raises(ValueError, match=r"defined channel dimension.*\(None, 8, 8, None\)"):
        block.build((None, 8, 8, None))


def test_channels_first_error_names_its_layout():
    with pytest.raises(ValueError, match=r"\(batch, channels, height, width\).*\(None, 8, 8\)"):
        layers.SPEM(data_format="channels_first").build((None, 8, 8))


@pytest.mark.parametrize(
    "make", [lambda: layers.SquashSpatialAttention(groups=3), lambda: layers.SGE(groups=3)]
)
def test_groups_must_divide_channels(make):
    with pytest.raises(ValueError, match=r"groups=3 must divide.*\(None, 8, 8, 16\)"):
        make().build((None, 8, 8, 16))


def test_context_of_wrong_rank_is_a_clear_error():
    layer = layers.SqueezeExcitation(name="se_r")
    with pytest.raises(ValueError) as error:
        layer(_x(), context=np.zeros((2, 3, 4), "float32"))
    message = str(error.value)
    assert "se_r" in message and "(2, 3, 4)" in message and "(2, 6, 5, 16)" in message


def test_context_must_match_how_the_layer_was_built():
    layer = layers.SqueezeExcitation(reduction=4)
    layer(_x(), context=np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="built with a context of 3 units; received context none"):
        layer(_x())


def test_unknown_pooling_mode_is_rejected():
    with pytest.raises(ValueError, match="unknown pooling mode 'median'"):
        layers.SqueezeExcitation(pooling="median")


def test_bad_data_format_is_rejected():
    with pytest.raises(ValueError, match="data_format"):
        layers.SPEM(data_format="NHWC")


# --- registry ----------------------------------------------------------------------------------


def test_registry_names_every_block():
    assert layers.names() == [
        "se",
        "ssa",
        "spem",
        "cbam",
        "eca",
        "srm",
        "sge",
        "coord",
        "ese",
        "ecam",
        "ceca",
        "ge",
        "gc",
        "gca",
        "lcbam",
        "scoord",
        "ela",
        "strip",
        "simam",
        "triplet",
        "bam",
        "fca",
    ]
    for name in layers.names():
        assert isinstance(layers.get(name), layers.AttentionBlock)


def test_registry_accepts_names_classes_instances_and_callables():
    assert layers.get(None) is None
    assert layers.get("SE", reduction=8).reduction == 8
    assert isinstance(layers.get(layers.SRM), layers.SRM)
    template = layers.SqueezeExcitation(reduction=2, name="template")
    copy = layers.get(template)
    assert copy is not template and copy.reduction == 2 and copy.name != "template"
    made = layers.get(lambda **kw: layers.ECA(kernel_size=5, **kw))
    assert made.kernel_size == 5


def test_registry_errors():
    with pytest.raises(ValueError, match="Unknown attention block 'nope'.*'se'"):
        layers.get("nope")
    with pytest.raises(TypeError, match="not a Layer"):
        layers.get(lambda: 3)
    with pytest.raises(TypeError):
        layers.get(42)


def test_register_a_custom_block():
    layers.register("identity_for_test", lambda **kw: keras.layers.Identity(**kw))
    try:
        assert isinstance(layers.get("identity_for_test"), keras.layers.Identity)
        assert "identity_for_test" in layers.names()
    finally:
        from keras_attention.layers import registry

        registry._REGISTRY.pop("identity_for_test")


@pytest.mark.parametrize("name", sorted(CASES))
def test_compute_output_shape_is_the_input_shape(name):
    block = BLOCKS[name]()
    for shape in [(None, 6, 5, 16), (3, None, None, 16)]:
        assert block.compute_output_shape(shape) == shape


def test_compute_output_shape_of_pooling_and_classifier():
    assert layers.GlobalPooling("max").compute_output_shape((4, 6, 5, 16)) == (4, 16)
    pooling = layers.GlobalPooling("min", data_format="channels_first")
    assert pooling.compute_output_shape((4, 16, 6, 5)) == (4, 16)
    assert layers.AuxiliaryClassifier(9).compute_output_shape((None, 8, 8, 16)) == (None, 9)
    se = layers.SqueezeExcitation()
    assert se.compute_output_shape((None, 6, 5, 16), (None, 10)) == (None, 6, 5, 16)


def test_result_context_options(tmp_path):
    logits = np.array([[1.0, 2.0, 3.0]], "float32")
    np.testing.assert_allclose(to_numpy(layers.ResultContext()(logits)), logits)
    probabilities = np.exp(logits) / np.exp(logits).sum()
    np.testing.assert_allclose(
        to_numpy(layers.ResultContext("softmax")(logits)), probabilities, rtol=1e-6
    )
    stopped = layers.ResultContext(stop_gradient=True)
    # A Dense layer before the context: its kernel trains through the context unless the
    # gradient is stopped.
    for context, trains in ((layers.ResultContext(), True), (stopped, False)):
        inputs = keras.Input((3,))
        dense = keras.layers.Dense(3)
        model = keras.Model(inputs, keras.layers.Dense(2)(context(dense(inputs))))
        changed = _one_sgd_step_changes(model, [dense.kernel], logits, np.ones((1, 2)))
        assert changed[dense.kernel.path] == trains
    clone = layers.ResultContext.from_config(stopped.get_config())
    assert clone.stop_gradient and clone.activation == "logits"
    with pytest.raises(ValueError, match="'logits' or 'softmax'"):
        layers.ResultContext("sigmoid")

"""Attention maps, Grad-CAM, their figures, and the block comparison."""

import csv

import keras
import numpy as np
import pytest
from conftest import to_numpy

from keras_attention import catalog, cli, layers, models, profile, visualize

BLOCK_KWARGS = {"sge": {"groups": 4}}  # 64 groups do not divide 16 channels


def _images(n=3, size=16, seed=0):
    return np.random.default_rng(seed).normal(size=(n, size, size, 3)).astype("float32")


def _randomize_norms(model, seed=0):
    """Non-trivial BatchNorm statistics, so that gates are not all equal."""
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        if "moving_variance" in weight.path:
            weight.assign(rng.uniform(0.5, 2.0, weight.shape).astype("float32"))
        elif "moving_mean" in weight.path or "beta" in weight.path:
            weight.assign(rng.normal(0, 0.3, weight.shape).astype("float32"))


@pytest.mark.parametrize("block", list(catalog.BLOCKS))
def test_attention_maps_has_every_block_in_order_with_gates_in_0_1(block):
    model = models.cifar_resnet(
        20, attention=block, input_shape=(16, 16, 3), attention_kwargs=BLOCK_KWARGS.get(block)
    )
    _randomize_norms(model)
    images = _images()
    maps = visualize.attention_maps(model, images)
    expected = [f"stage{s}_block{b}_attention" for s in (1, 2, 3) for b in (1, 2, 3)]
    assert list(maps) == expected
    channel_only = ("se", "spem", "eca", "srm", "ese", "ecam", "ceca", "ge", "gc", "gca", "fca")
    low, high = {"bam": (1.0, 2.0), "gca": (-np.inf, np.inf)}.get(block, (0.0, 1.0))
    for name, value in maps.items():
        stage = int(name[5])
        size, channels = 16 // 2 ** (stage - 1), 16 * 2 ** (stage - 1)
        shape = (3, channels) if block in channel_only else (3, size, size)
        assert value.shape == shape, name
        assert np.isfinite(value).all() and value.min() >= low and value.max() <= high
    # Every block's output is its input times the maps it returns (channels_last); the
    # blocks whose maps are not channel, spatial or directional gates, through their own gate.
    probed = [model.get_layer(n) for n in expected[::4]]
    # One eager call of one probe (a compiled predict per layer would take most of the test).
    probe = keras.Model(model.inputs, [t for layer in probed for t in (layer.input, layer.output)])
    outputs = [to_numpy(t) for t in probe(images, training=False)]
    for layer, x, y in zip(probed, outputs[::2], outputs[1::2], strict=True):
        maps = {k: to_numpy(v) for k, v in layer.attention(x).items()}
        if set(maps) <= {"channel", "spatial", "height", "width"}:
            expected_y = x * _gate(maps, x.shape[-1])
        else:
            expected_y = to_numpy(layer.apply_maps(x, maps))
        np.testing.assert_allclose(y, expected_y, rtol=1e-5, atol=1e-5)


def _gate(maps, channels):
    """The gate the returned maps describe, broadcast to (N, H, W, C), in NumPy."""
    gate = 1.0
    if "channel" in maps:
        gate = gate * maps["channel"][:, None, None, :]
    if "spatial" in maps:
        spatial = maps["spatial"]
        if spatial.ndim == 3:
            spatial = spatial[..., None]
        gate = gate * np.repeat(spatial, channels // spatial.shape[-1], axis=-1)
    if "height" in maps:
        gate = gate * maps["height"][:, :, None, :] * maps["width"][:, None, :, :]
    return gate


def test_se_output_is_its_input_times_the_returned_channel_weights():
    model = models.cifar_resnet(20, attention="se", input_shape=(16, 16, 3))
    images = _images(4)
    maps = visualize.attention_maps(model, images)
    layer = model.get_layer("stage2_block2_attention")
    x, y = keras.Model(model.inputs, [layer.input, layer.output]).predict(images, verbose=0)
    weights = maps["stage2_block2_attention"]
    assert weights.shape == (4, 32)
    np.testing.assert_allclose(y, x * weights[:, None, None, :], rtol=1e-5, atol=1e-5)


def test_one_probe_model_gives_every_map():
    model = models.cifar_resnet(20, attention="cbam", input_shape=(16, 16, 3))
    probe, names = visualize.probe_model(model)
    assert isinstance(probe, keras.Model) and len(probe.outputs) == len(names) == 18
    assert names[:2] == [
        ("stage1_block1_attention", "channel"),
        ("stage1_block1_attention", "spatial"),
    ]
    every = visualize.block_maps(model, _images(2))
    assert every["stage3_block3_attention"]["channel"].shape == (2, 64)


def test_se_r_blocks_get_their_context_and_attach_attention_results_work():
    model = models.cifar_se_resnet(18, num_classes=10, aux_positions=(2,), input_shape=(16, 16, 3))
    maps = visualize.attention_maps(model, _images(2))
    assert len(maps) == 8 and maps["stage3_block1_attention"].shape == (2, 256)
    base = models.cifar_resnet(8, input_shape=(16, 16, 3))
    attached = models.attach_attention(base, "ssa")
    maps = visualize.attention_maps(attached, _images(2))
    assert len(maps) == 3 and all(m.ndim == 3 for m in maps.values())
    with pytest.raises(ValueError, match="has no keras_attention block"):
        visualize.attention_maps(base, _images(2))


def test_channels_first_maps_equal_the_channels_last_ones():
    def build(data_format, shape):
        inputs = keras.Input(shape)
        x = layers.SquashSpatialAttention(data_format=data_format, name="ssa")(inputs)
        x = layers.CBAM(reduction=4, data_format=data_format, name="cbam")(x)
        x = layers.CoordinateAttention(data_format=data_format, name="coord")(x)
        x = layers.SGE(groups=2, data_format=data_format, name="sge")(x)
        return keras.Model(inputs, layers.GlobalPooling("avg", data_format=data_format)(x))

    last = build("channels_last", (6, 5, 8))
    first = build("channels_first", (8, 6, 5))
    _randomize_norms(last)
    for a, b in zip(last.weights, first.weights, strict=True):
        b.assign(a)
    images = _images(2, 6)[..., :1] * np.ones((1, 1, 1, 8), "float32")
    images = images[:, :, :5] + np.arange(8, dtype="float32") / 8
    maps_last = visualize.attention_maps(last, images)
    maps_first = visualize.attention_maps(first, images.transpose(0, 3, 1, 2))
    for name in ("ssa", "cbam", "coord", "sge"):
        assert maps_last[name].shape == (2, 6, 5)
        np.testing.assert_allclose(maps_first[name], maps_last[name], rtol=1e-5, atol=1e-6)


def _square_model():
    """Class 0's score is the mean of a 3x3 box filter's response: a bright square decides it."""
    inputs = keras.Input((16, 16, 1))
    features = keras.layers.Conv2D(
        1, 3, padding="same", use_bias=False, kernel_initializer="ones", name="features"
    )(inputs)
    features = keras.layers.ReLU(name="features_relu")(features)
    pooled = keras.layers.GlobalAveragePooling2D()(features)
    scores = keras.layers.Dense(2, kernel_initializer=keras.initializers.Constant([[1.0, -1.0]]))(
        pooled
    )
    return keras.Model(inputs, scores)


def _square_image(row, col):
    image = np.zeros((16, 16, 1), "float32")
    image[row : row + 3, col : col + 3] = 1.0
    return image


def test_grad_cam_peaks_on_the_object_and_moves_with_it():
    model = _square_model()
    images = np.stack([_square_image(2, 3), _square_image(11, 10)])
    heatmaps = visualize.grad_cam(model, images)
    assert heatmaps.shape == (2, 16, 16)
    assert heatmaps.min() >= 0.0 and heatmaps.max() == pytest.approx(1.0)
    peaks = [np.unravel_index(np.argmax(h), h.shape) for h in heatmaps]
    assert peaks[0] == (3, 4) and peaks[1] == (12, 11)  # the squares' centres
    # The other class's evidence is negative everywhere: its heatmap is empty.
    assert visualize.grad_cam(model, images, class_index=1).max() == 0.0


def test_grad_cam_on_a_network_with_blocks_at_the_input_size():
    model = models.cifar_resnet(8, attention="ssa", input_shape=(16, 16, 3))
    heatmaps = visualize.grad_cam(model, _images(2), class_index=[3, 4])
    assert heatmaps.shape == (2, 16, 16) and 0.0 <= heatmaps.min() <= heatmaps.max() <= 1.0
    assert visualize.last_feature_layer(model).name == "stage3_block1_out"
    with pytest.raises(ValueError, match="expected a 4-D feature map"):
        visualize.grad_cam(model, _images(1), layer="predictions")


def test_figures():
    import matplotlib

    matplotlib.use("Agg")
    model = models.cifar_resnet(20, attention="cbam", input_shape=(16, 16, 3))
    images = _images(3)
    maps = visualize.attention_maps(model, images)
    figure = visualize.plot_maps(images, maps, max_images=2)
    assert len(figure.axes) == 2 * (1 + 9)
    assert len(visualize.plot_stages(images, maps).axes) == 3 * 4
    se = models.cifar_resnet(20, attention="se", input_shape=(16, 16, 3))
    weights = visualize.attention_maps(se, images)
    figure = visualize.plot_channel_weights(weights, labels=[0, 1, 1])
    assert len(figure.axes) == 12 and len(figure.axes[0].lines) == 2
    heatmaps = visualize.grad_cam(model, images)
    assert len(visualize.plot_grad_cam(images, heatmaps, maps).axes) == 3 * 5
    with pytest.raises(ValueError, match="no block with a spatial map"):
        visualize.plot_maps(images, weights)


@pytest.mark.slow
def test_compare_command_writes_its_table_and_plot_on_digits(tmp_path, capsys):
    out = tmp_path / "compare"
    argv = ["compare", "--model", "cifar_resnet8", "--blocks", "ssa", "--seeds", "2"]
    argv += ["--epochs", "1", "--steps-per-epoch", "2", "--image-size", "16"]
    argv += ["--output-dir", str(out)]
    assert cli.main(argv) == 0
    captured = capsys.readouterr()
    assert "[4/4] ssa seed 1" in captured.out
    with open(out / "results.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["name"] for r in rows] == ["none", "ssa"]
    for row in rows:
        attention = None if row["name"] == "none" else row["name"]
        model = models.cifar_resnet(8, attention, input_shape=(16, 16, 1))
        assert row["parameters"] == str(profile(model).trainable_params)
        assert float(row["accuracy_std"]) >= 0 and row["seeds"] == "2"
    assert " ± " in (out / "results.md").read_text()
    assert (out / "results.md").read_text().startswith("# cifar_resnet8 on digits")
    assert (out / "results.png").stat().st_size > 1000
    assert cli.main(["compare", "--blocks", "se,nope"]) == 2
    assert "unknown block 'nope'" in capsys.readouterr().err

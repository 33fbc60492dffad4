"""PyTorch checkpoints into the package's networks: logits equal to the PyTorch network's.

The references (tests/torch_references.py) carry torchvision's, timm's and the seed codes'
module names, so their state dicts are laid out as the real libraries' checkpoints are.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch_references as R  # noqa: E402

from keras_attention import convert  # noqa: E402
from keras_attention.errors import ConfigError  # noqa: E402

# (architecture, reference, input size): odd sizes check PyTorch's padding of strided layers.
FAMILIES = [
    ("torchvision:resnet18", lambda: R.ResNet(18), 64),
    ("torchvision:mobilenet_v2", lambda: R.MobileNetV2(), 65),
    ("timm:seresnet18", lambda: R.ResNet(18, attn="se"), 40),  # hidden 64/16 -> 8
    ("timm:ecaresnet50d", lambda: R.ResNet(50, attn="eca", stem_type="deep", avg_down=True), 65),
    ("timm:resnet50t", lambda: R.ResNet(50, stem_type="deep_tiered", avg_down=True), 64),
    ("timm:legacy_seresnet18", lambda: R.LegacySENet(18), 65),
    ("spem:resnet29", lambda: R.SPEMNet(29), 32),
    ("ssa:resnet50", R.salientnet50, 64),
    ("se_r:seresnet18", lambda: R.CifarSEResNet(18, r=8), 32),
]


def _reference(make, seed=0):
    return R.randomize_parameters(R.randomize(make(), seed), seed + 1)


def _logits(net, x):
    with torch.no_grad():
        return net(torch.from_numpy(x)).numpy()


def _nchw(size, n=2, seed=0):
    return np.random.default_rng(seed).standard_normal((n, 3, size, size)).astype("float32")


@pytest.mark.parametrize("arch, make, size", FAMILIES, ids=[f[0] for f in FAMILIES])
def test_a_converted_network_gives_the_pytorch_logits(arch, make, size):
    net = _reference(make)
    x = _nchw(size)
    model = convert.from_torch(arch, net.state_dict(), input_shape=(size, size, 3))
    logits = model.predict(x.transpose(0, 2, 3, 1), verbose=0)
    expected = _logits(net, x)
    assert logits.shape == expected.shape
    np.testing.assert_allclose(logits, expected, rtol=0, atol=2e-5)


@pytest.mark.slow
def test_an_imagenet_size_se_resnet50_from_timm_within_1e_4(tmp_path):
    """timm's seresnet50 at 224x224 from a .safetensors file (no torch needed to read it),
    and from a .pth training checkpoint saved through DataParallel."""
    from safetensors.numpy import save_file

    net = _reference(lambda: R.ResNet(50, attn="se"))
    x = _nchw(224, n=1)
    expected = _logits(net, x)
    state = {k: v.numpy() for k, v in net.state_dict().items()}
    save_file(state, str(tmp_path / "model.safetensors"))
    wrapped = {"epoch": 3, "state_dict": {f"module.{k}": v for k, v in net.state_dict().items()}}
    torch.save(wrapped, tmp_path / "checkpoint.pth.tar")
    for path in ("model.safetensors", "checkpoint.pth.tar"):
        model = convert.from_torch("timm:seresnet50", str(tmp_path / path))
        assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == 28_088_024
        logits = model.predict(x.transpose(0, 2, 3, 1), verbose=0)
        np.testing.assert_allclose(logits, expected, rtol=0, atol=1e-4)


def _small_state():
    return {k: v.numpy() for k, v in _reference(lambda: R.ResNet(18)).state_dict().items()}


def test_a_missing_an_unexpected_and_a_misshaped_key_are_named():
    state = _small_state()
    del state["layer2.0.bn1.running_var"]
    with pytest.raises(
        convert.ConversionError, match=r"missing 1 key.*layer2\.0\.bn1\.running_var"
    ):
        convert.from_torch("torchvision:resnet18", state, input_shape=(32, 32, 3))
    state = _small_state()
    state["layer1.0.se.fc1.weight"] = np.zeros((4, 64, 1, 1), "float32")
    with pytest.raises(convert.ConversionError, match=r"1 unexpected key.*layer1\.0\.se\.fc1"):
        convert.from_torch("torchvision:resnet18", state, input_shape=(32, 32, 3))
    state = _small_state()
    state["layer3.1.conv2.weight"] = np.zeros((256, 256, 1, 1), "float32")
    with pytest.raises(
        convert.ConversionError,
        match=r"layer3\.1\.conv2\.weight has shape \(256, 256, 1, 1\); the network expects "
        r"\(256, 256, 3, 3\)",
    ):
        convert.from_torch("torchvision:resnet18", state, input_shape=(32, 32, 3))
    # The checkpoint of another architecture: every missing key is counted, some named.
    with pytest.raises(convert.ConversionError, match=r"missing 32 key\(s\).*se\.fc1"):
        convert.from_torch("timm:seresnet18", _small_state(), input_shape=(32, 32, 3))


def test_damaged_files_and_unknown_architectures_are_named(tmp_path):
    damaged = tmp_path / "model.safetensors"
    damaged.write_bytes(b"\x00" * 64)
    with pytest.raises(convert.ConversionError, match="model.safetensors is damaged"):
        convert.from_torch("torchvision:resnet18", str(damaged))
    cut = tmp_path / "model.pth"
    torch.save({"fc.weight": torch.zeros(3, 3)}, cut)
    cut.write_bytes(cut.read_bytes()[:40])
    with pytest.raises(convert.ConversionError, match="model.pth is damaged"):
        convert.from_torch("torchvision:resnet18", str(cut))
    with pytest.raises(ConfigError, match=r"unknown architecture 'timm:seresnet51' \(did you mean"):
        convert.from_torch("timm:seresnet51", {})


def test_another_class_count_keeps_everything_but_the_classifier_and_fine_tunes():
    state = _small_state()
    model = convert.from_torch(
        "torchvision:resnet18", state, num_classes=3, input_shape=(32, 32, 3)
    )
    stem = model.get_layer("stem_conv").kernel.numpy()
    np.testing.assert_array_equal(stem, state["conv1.weight"].transpose(2, 3, 1, 0))
    assert model.get_layer("predictions").kernel.shape == (512, 3)
    # It takes attention and trains as any factory model.
    from keras_attention.models import attach_attention

    with_cbam = attach_attention(model, "cbam")
    with_cbam.compile("sgd", "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).random((4, 32, 32, 3), dtype="float32")
    history = with_cbam.fit(x, np.array([0, 1, 2, 0]), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_expected_keys_equal_the_references_state_dicts():
    """What `expected_state_dict` lists is what the code's own networks hold."""
    for arch, make, _ in FAMILIES[:3]:
        keys = {k: tuple(v.shape) for k, v in make().state_dict().items()}
        keys = {k: v for k, v in keys.items() if not k.endswith("num_batches_tracked")}
        assert convert.expected_state_dict(arch, input_shape=(64, 64, 3)) == keys, arch


def test_the_layouts_have_timms_and_torchvisions_parameter_counts():
    """timm 1.0.31's and torchvision's counts (sum of p.numel() over parameters)."""
    import math

    counts = {
        "timm:resnet50": 25_557_032,
        "timm:seresnet50": 28_088_024,
        "timm:ecaresnet50d": 25_576_350,
        "timm:resnet50t": 25_573_728,
        "timm:legacy_seresnet50": 28_088_024,
        "torchvision:mobilenet_v2": 3_504_872,
    }
    for arch, expected in counts.items():
        model = convert.layout(arch).model
        assert sum(math.prod(w.shape) for w in model.trainable_weights) == expected, arch

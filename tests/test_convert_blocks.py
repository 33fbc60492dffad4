"""timm's ResNets with an attention block by name (`block_args=dict(attn_layer=NAME)`): each
converted checkpoint gives the PyTorch network's logits.

The references (tests/torch_blocks.py) are timm 1.0.31's blocks and resnet26t written out with
timm's module names, so their state dicts are laid out as timm's checkpoints are.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch_blocks  # noqa: E402
from keras_attention.convert_blocks import TIMM_ATTENTION  # noqa: E402

from keras_attention import cli, convert  # noqa: E402

SIZE = 64


def _reference(name, seed=0):
    """resnet26t with timm's block `name`: every parameter, zero-initialised ones (GC's
    mlp_add.fc2) and the norms' affine parameters included, random; BN statistics measured."""
    net = torch_blocks.randomize(torch_blocks.resnet26t(name, num_classes=10), seed)
    for key, value in net.state_dict().items():
        if not key.endswith("num_batches_tracked"):
            assert value.abs().max() > 0, key
    return net


def _nchw(n=2, seed=0):
    return np.random.default_rng(seed).standard_normal((n, 3, SIZE, SIZE)).astype("float32")


def _logits(net, x):
    with torch.no_grad():
        return net(torch.from_numpy(x)).numpy()


def _assert_close(logits, expected):
    assert logits.shape == expected.shape
    scale = np.abs(expected).max()
    assert np.abs(logits - expected).max() <= 1e-4 * scale, np.abs(logits - expected).max()


def test_the_references_are_timms_blocks():
    """Every block converted has its reference, under timm's name."""
    assert {timm for timm, _ in TIMM_ATTENTION.values()} <= set(torch_blocks.BLOCKS)


@pytest.mark.parametrize("name", list(TIMM_ATTENTION))
def test_a_converted_resnet26t_with_a_timm_block_gives_the_pytorch_logits(name):
    net = _reference(TIMM_ATTENTION[name][0])
    x = _nchw()
    model = convert.from_torch(
        "timm:resnet26t", net.state_dict(), input_shape=(SIZE, SIZE, 3), attention=name
    )
    logits = np.asarray(model(x.transpose(0, 2, 3, 1), training=False))
    _assert_close(logits, _logits(net, x))


def test_the_command_line_converts_with_attention(tmp_path):
    import keras
    from safetensors.numpy import save_file

    net = _reference("cbam", seed=1)
    path = tmp_path / "resnet26t_cbam.safetensors"
    save_file({k: v.numpy() for k, v in net.state_dict().items()}, str(path))
    out = tmp_path / "resnet26t_cbam.keras"
    argv = ["convert", str(path), "--arch", "timm:resnet26t", "--attention", "cbam"]
    argv += ["--image-size", str(SIZE), "--output", str(out)]
    assert cli.main(argv) == 0
    model = keras.saving.load_model(str(out))
    x = _nchw(seed=1)
    logits = np.asarray(model(x.transpose(0, 2, 3, 1), training=False))
    _assert_close(logits, _logits(net, x))


def test_a_block_by_name_only_for_timms_plain_resnets_and_only_timms_blocks():
    state = torch_blocks.resnet26t("cbam", num_classes=10).state_dict()
    with pytest.raises(ValueError, match="only timm's plain ResNets"):
        convert.from_torch("timm:seresnet50", state, attention="cbam")
    with pytest.raises(ValueError, match="has no timm counterpart"):
        convert.from_torch("timm:resnet26t", state, attention="coord")

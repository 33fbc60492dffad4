"""Presets, the convert command, pyramid outputs and fine-tuning a pretrained network."""

import json
import os

import keras
import numpy as np
import pytest

from keras_attention import cli, models, presets
from keras_attention.errors import ConfigError, DataError

torch = pytest.importorskip("torch")

import torch_references as R  # noqa: E402


def hub_folder(path, net, architecture, size=224, interpolation="bicubic", labels=None):
    """A folder laid out as timm's `push_to_hf_hub` writes one (config.json from
    `save_config_for_hf`, model.safetensors with the state dict's keys)."""
    from safetensors.numpy import save_file

    os.makedirs(path, exist_ok=True)
    save_file({k: v.numpy() for k, v in net.state_dict().items()}, str(path / "model.safetensors"))
    head = [m for m in net.modules() if isinstance(m, torch.nn.Linear)][-1]
    config = {
        "architecture": architecture,
        "num_classes": head.out_features,
        "num_features": head.in_features,
        "global_pool": "avg",
        "pretrained_cfg": {
            "tag": "a1_in1k",
            "input_size": [3, size, size],
            "interpolation": interpolation,
            "crop_pct": 0.95,
            "mean": [0.485, 0.456, 0.406],
            "std": [0.229, 0.224, 0.225],
            "num_classes": head.out_features,
        },
    }
    if labels:
        config["label_names"] = labels
    (path / "config.json").write_text(json.dumps(config))
    return path


@pytest.fixture(scope="module")
def seresnet18(tmp_path_factory):
    net = R.randomize(R.ResNet(18, num_classes=5, attn="se"))
    folder = tmp_path_factory.mktemp("hub") / "seresnet18.local"
    return net, hub_folder(folder, net, "seresnet18", labels=list("abcde"))


def test_from_preset_reads_a_local_hub_folder_exactly(seresnet18):
    net, folder = seresnet18
    model = models.from_preset(str(folder), input_shape=(48, 48, 3))
    x = np.random.default_rng(0).standard_normal((2, 3, 48, 48)).astype("float32")
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(
        model.predict(x.transpose(0, 2, 3, 1), verbose=0), expected, atol=2e-5
    )
    preset = model.preset
    assert (preset.arch, preset.interpolation, preset.crop_pct) == (
        "timm:seresnet18",
        "bicubic",
        0.95,
    )
    assert preset.input_size == (224, 224) and preset.class_names == tuple("abcde")


def test_the_preset_table_is_data_every_entry_resolvable_offline(monkeypatch, tmp_path):
    from keras_attention import catalog, convert

    table = presets.table()
    assert {"seresnet50.a1_in1k", "ecaresnet50d.miil_in1k", "mobilenet_v2.tv_in1k"} <= set(table)
    for preset in table.values():
        catalog.parse_architecture(preset.arch)
        assert preset.source.startswith(("hf://timm/", "https://"))
        assert len(preset.mean) == len(preset.std) == 3
    assert convert.expected_state_dict("timm:seresnet50")["layer2.0.se.fc1.weight"] == (
        32,
        512,
        1,
        1,
    )
    with pytest.raises(ConfigError, match=r"unknown preset 'seresnet50\.a1' \(did you mean"):
        presets.resolve("seresnet50.a1")
    # No network: the download fails with one line saying what to do instead.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataError, match=r"cannot download hf://timm/seresnet50\.a1_in1k.*folder"):
        models.from_preset("seresnet50.a1_in1k", cache_dir=str(tmp_path))


def test_convert_command_writes_a_keras_model_with_the_checkpoints_logits(tmp_path, capsys):
    net = R.randomize(R.MobileNetV2(num_classes=7))
    checkpoint = tmp_path / "mobilenet_v2.pth"
    torch.save(net.state_dict(), checkpoint)
    output = tmp_path / "mobilenet_v2.keras"
    argv = ["convert", str(checkpoint), "--arch", "torchvision:mobilenet_v2", "--image-size", "33"]
    assert cli.main([*argv, "--output", str(output)]) == 0
    assert "saved to" in capsys.readouterr().out
    model = keras.saving.load_model(output)
    x = np.random.default_rng(1).standard_normal((1, 3, 33, 33)).astype("float32")
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(
        model.predict(x.transpose(0, 2, 3, 1), verbose=0), expected, atol=2e-5
    )
    # Usage errors before any backend work: exit 2, one line naming the option.
    assert cli.main([*argv, "--output", str(tmp_path / "m.h5")]) == 2
    assert "--output: expected a .keras file" in capsys.readouterr().err
    # A checkpoint of another layout: exit 1, the keys named.
    assert (
        cli.main(["convert", str(checkpoint), "--arch", "timm:resnet18", "--output", str(output)])
        == 1
    )
    assert "missing" in capsys.readouterr().err


PYRAMIDS = {
    "cifar_resnet20": (lambda: models.build("cifar_resnet20", "se"), 32, ("P0", "P1", "P2")),
    "cifar_se_resnet18": (lambda: models.build("cifar_se_resnet18"), 32, ("P0", "P1", "P2", "P3")),
    "preact_resnet20": (lambda: models.build("preact_resnet20", "eca"), 32, ("P0", "P1", "P2")),
    "resnet18": (lambda: models.build("resnet18", "cbam", input_shape=(64, 64, 3)), 64, None),
    "resnet50d": (
        lambda: models.resnet(50, "eca", input_shape=(None, None, 3), stem="deep", avg_down=True),
        None,
        None,
    ),
    "mobilenet_v2": (lambda: models.build("mobilenet_v2", "se", input_shape=(64, 64, 3)), 64, None),
    "efficientnet_b0": (lambda: models.efficientnet("b0", input_shape=(64, 64, 3)), 64, None),
    "mobilenet_v3_small": (lambda: models.mobilenet_v3("small", input_shape=(64, 64, 3)), 64, None),
    "regnety_002": (lambda: models.regnet("y_002", input_shape=(None, None, 3)), None, None),
    "resnext26": (lambda: models.resnext(26, "se", input_shape=(64, 64, 3)), 64, None),
}


@pytest.mark.parametrize("name", sorted(PYRAMIDS))
def test_every_backbone_exposes_its_stage_outputs_by_stride(name):
    make, size, levels = PYRAMIDS[name]
    levels = levels or ("P1", "P2", "P3", "P4", "P5")
    model = make()
    outputs = models.pyramid_outputs(model)
    assert tuple(outputs) == levels
    extractor = models.feature_extractor(model)
    probe = size or 96
    maps = extractor(np.zeros((1, probe, probe, 3), "float32"))
    for level, feature in maps.items():
        stride = 2 ** int(level[1:])
        assert tuple(feature.shape[1:3]) == (probe // stride, probe // stride), level
    # The deepest level feeds the classifier (the last feature map before pooling).
    last = list(outputs)[-1]
    # (MobileNetV3's head has a hidden layer after the pooling.)
    fed = model.get_layer("head").input if name.startswith("mobilenet_v3") else None
    fed = fed if fed is not None else model.layers[-2].input
    assert maps[last].shape[-1] == fed.shape[-1] or name == "cifar_se_resnet18"
    with pytest.raises(ValueError, match=r"has no level P9"):
        models.feature_extractor(model, ["P9"])


@pytest.mark.slow
def test_a_preset_fine_tunes_on_the_digits_and_its_preprocessing_travels(seresnet18, tmp_path):
    """train --preset: the preset's mean, std and interpolation are the run's; the export and
    predict use them; a block given replaces the pretrained network's own (SE), and run.json
    records which weights came from the checkpoint and which started fresh."""
    _, folder = seresnet18
    run = tmp_path / "run"
    argv = ["--preset", str(folder), "--attention", "eca", "--image-size", "32", "--epochs", "1"]
    argv += ["--steps-per-epoch", "2", "--output-dir", str(run)]
    assert cli.main(argv) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["config"]["preset"] == str(folder)
    assert tuple(metrics["data"]["mean"]) == (0.485, 0.456, 0.406)
    assert metrics["data"]["interpolation"] == "bicubic"
    model = keras.saving.load_model(run / "model.keras")
    assert sum(type(layer).__name__ == "ECA" for layer in model.layers) == 8
    assert sum(type(layer).__name__ == "SqueezeExcitation" for layer in model.layers) == 0
    weights = json.loads((run / "run.json").read_text())["weights"]
    assert weights["preset"] == str(folder)
    assert sorted(weights["new"]) == sorted(
        [f"stage{s}_block{b}_attention/conv/kernel" for s in (1, 2, 3, 4) for b in (1, 2)]
        + ["predictions/kernel", "predictions/bias"]  # 5 classes in the checkpoint, 10 here
    )
    assert "stem_conv/kernel" in weights["loaded"] and len(weights["loaded"]) > 80
    assert cli.main(["export", str(run), "--formats", "onnx,tflite", "--modes", "float32"]) == 0
    report = json.loads((run / "export" / "export.json").read_text())
    assert report["preprocessing"]["resize"] == "bicubic to 32x32"
    assert "bilinearly" in report["notes"]["tflite"]
    assert report["test_accuracy"]["onnx"] == report["test_accuracy"]["keras"]


@pytest.fixture(scope="module")
def efficientnet_b0(tmp_path_factory):
    import torch_families

    net = torch_families.randomize(torch_families.build("efficientnet_b0", num_classes=10))
    folder = tmp_path_factory.mktemp("hub") / "efficientnet_b0.local"
    return net, hub_folder(folder, net, "efficientnet_b0", size=64)


@pytest.mark.slow
def test_swapping_a_pretrained_efficientnets_se_keeps_every_other_tensor(efficientnet_b0):
    """The run's network from an EfficientNet preset with ECA in place of its SE: every weight
    but the new blocks' is the checkpoint's; the blocks sit where SE sat."""
    from keras_attention.config import TrainConfig, resolve

    _, folder = efficientnet_b0
    pretrained = models.from_preset(str(folder), input_shape=(64, 64, 3))
    plan = resolve(TrainConfig(preset=str(folder), attention="eca", dataset="digits"))
    model = plan.build_model(10, (64, 64, 3))
    ours = {w.path: keras.ops.convert_to_numpy(w) for w in model.weights}
    theirs = {w.path: keras.ops.convert_to_numpy(w) for w in pretrained.weights}
    sources = model.weight_sources
    assert set(sources["loaded"]) | set(sources["new"]) == set(ours)
    for path in sources["loaded"]:
        np.testing.assert_array_equal(ours[path], theirs[path])
    assert sorted({p.split("/")[0] for p in sources["new"]}) == sorted(
        layer.name for layer in pretrained.layers if type(layer).__name__ == "SqueezeExcitation"
    )
    assert all(p.endswith("attention/conv/kernel") for p in sources["new"])  # ECA's only weight

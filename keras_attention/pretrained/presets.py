"""Pretrained networks by name (keras-hub's presets: data, not code).

`presets.json` lists each preset's checkpoint (`hf://ORG/REPO` on the Hugging Face hub, or an
`https://` file), its layout (`keras-attention list archs`) and the preprocessing it was
trained with. `resolve(name_or_path)` also takes a local folder laid out as the hub lays out
timm's models (`config.json` with `architecture` and `pretrained_cfg`, and `model.safetensors`
or `pytorch_model.bin`), or such a checkpoint file beside its `config.json`.

This module imports neither Keras nor a backend: the command line checks names with it.
"""

import dataclasses
import json
import os

from keras_attention.errors import ConfigError, DataError

_TABLE = os.path.join(os.path.dirname(__file__), "presets.json")
CHECKPOINT_FILES = ("model.safetensors", "pytorch_model.bin")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclasses.dataclass
class Preset:
    """A pretrained network: where its weights are, their layout, and their preprocessing."""

    name: str
    source: str
    arch: str
    input_size: tuple = (224, 224)
    crop_pct: float = 0.875
    interpolation: str = "bilinear"
    mean: tuple = IMAGENET_MEAN
    std: tuple = IMAGENET_STD
    num_classes: int = 1000
    classes: str = ""
    class_names: tuple = ()
    checkpoint: str = None  # the local file, once found or downloaded

    @property
    def channels(self):
        return len(self.mean)

    def preprocessing(self):
        """What the network expects, as data (recorded in run.json and export.json)."""
        return {
            "preset": self.name,
            "source": self.source,
            "input_size": list(self.input_size),
            "crop_pct": self.crop_pct,
            "interpolation": self.interpolation,
            "mean": list(self.mean),
            "std": list(self.std),
        }


def table():
    """`{name: Preset}` of `presets.json`."""
    with open(_TABLE) as handle:
        entries = json.load(handle)
    return {
        name: Preset(name=name, **_fields(entry))
        for name, entry in entries.items()
        if not name.startswith("_")
    }


def _fields(entry):
    values = dict(entry)
    for key in ("input_size", "mean", "std"):
        if key in values:
            values[key] = tuple(values[key])
    return values


def names():
    """The names of the presets in `presets.json`."""
    return list(table())


def _from_timm_config(path, folder):
    """A Preset from a hub folder's `config.json` (timm's `save_config_for_hf` layout)."""
    try:
        with open(path) as handle:
            config = json.load(handle)
    except (OSError, ValueError) as error:
        raise DataError(f"preset: {path} is damaged or not JSON ({error})") from None
    if not isinstance(config, dict) or not ("architecture" in config or "arch" in config):
        raise DataError(
            f"preset: {path} names no architecture (timm's config.json has 'architecture')"
        )
    # timm's config names a timm model; other layouts give ours ("arch": "torchvision:...").
    arch = config.get("arch") or f"timm:{config['architecture']}"
    cfg = config.get("pretrained_cfg", {})
    size = cfg.get("input_size", [3, 224, 224])
    return Preset(
        name=os.path.basename(os.path.normpath(folder)),
        source=folder,
        arch=arch,
        input_size=tuple(size[1:]),
        crop_pct=float(cfg.get("crop_pct", 0.875)),
        interpolation=cfg.get("interpolation", "bilinear"),
        mean=tuple(cfg.get("mean", IMAGENET_MEAN)),
        std=tuple(cfg.get("std", IMAGENET_STD)),
        num_classes=int(config.get("num_classes", cfg.get("num_classes", 1000))),
        class_names=tuple(config.get("label_names", ())),
    )


def _local(path):
    folder = path if os.path.isdir(path) else os.path.dirname(path) or "."
    config = os.path.join(folder, "config.json")
    if not os.path.isfile(config):
        raise ConfigError(
            f"preset: {path!r} has no config.json beside it (the hub's layout: config.json "
            "and model.safetensors); convert a bare checkpoint with keras-attention convert "
            "CHECKPOINT --arch ARCH"
        )
    preset = _from_timm_config(config, folder)
    if os.path.isdir(path):
        found = [
            os.path.join(path, f) for f in CHECKPOINT_FILES if os.path.isfile(os.path.join(path, f))
        ]
        if not found:
            raise ConfigError(
                f"preset: {path!r} holds no weights ({' or '.join(CHECKPOINT_FILES)})"
            )
        preset.checkpoint = found[0]
    else:
        preset.checkpoint = path
    return preset


def resolve(name_or_path):
    """The `Preset` of a name from the table, or of a local folder or file (see the module
    docstring); a ConfigError naming it otherwise. Nothing is downloaded."""
    if os.path.exists(str(name_or_path)):
        return _local(str(name_or_path))
    known = table()
    if name_or_path in known:
        return known[name_or_path]
    from keras_attention.catalog import suggest

    raise ConfigError(
        f"preset: unknown preset {name_or_path!r}{suggest(str(name_or_path), list(known))}; "
        f"expected one of {', '.join(known)} (keras-attention list presets) or a local folder "
        "with config.json and model.safetensors"
    )


def fetch(preset, cache_dir=None):
    """`preset` with its checkpoint on disk: downloaded through `huggingface_hub` (cached in
    its cache) or `keras.utils.get_file`, when the network is reachable."""
    if preset.checkpoint:
        return preset
    source = preset.source
    try:
        if source.startswith("hf://"):
            from huggingface_hub import hf_hub_download

            repo = source.removeprefix("hf://")
            config = hf_hub_download(repo, "config.json", cache_dir=cache_dir)
            weights = hf_hub_download(repo, "model.safetensors", cache_dir=cache_dir)
            found = _from_timm_config(config, os.path.dirname(config))
            preset = dataclasses.replace(
                preset, class_names=found.class_names or preset.class_names, checkpoint=weights
            )
        else:
            import keras

            path = keras.utils.get_file(
                origin=source, cache_subdir="keras_attention", cache_dir=cache_dir
            )
            preset = dataclasses.replace(preset, checkpoint=path)
    except ImportError as error:
        raise ConfigError(
            f"preset {preset.name}: downloading needs {error.name}: pip install "
            "'keras-cnn-attention[train]'"
        ) from None
    except Exception as error:  # no network, no such repository, a cut download
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(
            f"preset {preset.name}: cannot download {source} ({first}); where there is no "
            "network, download it elsewhere and give the folder (config.json and "
            "model.safetensors) instead of the name"
        ) from None
    return preset


def from_preset(name_or_path, num_classes=None, input_shape=None, cache_dir=None):
    """A pretrained Keras model from a preset name or a local hub-layout folder.

    Args:
        name_or_path: a name of `keras-attention list presets`, or a folder with
            `config.json` and `model.safetensors` (or `pytorch_model.bin`).
        num_classes: None keeps the checkpoint's classifier; another number gives a new
            classifier of that many classes (for fine-tuning).
        input_shape: default `(H, W, 3)` of the preset's input size.
        cache_dir: where downloads are cached (default: the hub's and Keras' caches).

    Returns:
        The model; `model.preset` is the `Preset` (its preprocessing: size, crop,
        interpolation, mean and std; class names where the checkpoint has them).

    Example:

    >>> model = from_preset("seresnet50.a1_in1k")  # downloads when the hub is reachable
    >>> model = from_preset("path/to/seresnet50", num_classes=10)  # a local hub folder
    """
    from keras_attention.pretrained import convert

    preset = fetch(resolve(name_or_path), cache_dir)
    shape = tuple(input_shape or (*preset.input_size, preset.channels))
    model = convert.from_torch(preset.arch, preset.checkpoint, num_classes, shape)
    model.preset = preset
    return model

"""Feature pyramids: a backbone's stage outputs by stride, for detection and segmentation heads.

keras-hub's convention: `pyramid_outputs` maps `"P{k}"` to the last feature map at stride
`2**k` (ImageNet backbones: P1..P5; the CIFAR ResNets, which do not downsample their input
before the first stage: P0..P2, or P0..P3 for `cifar_se_resnet`).
"""

import math

import keras


def _feature_maps(model):
    """(layer, output) of every layer with one 4-D output, in the graph's order."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        output = layer.output
        if isinstance(output, (list, tuple, dict)) or len(output.shape) != 4:
            continue
        found.append((layer, output))
    return found


def _spatial(shape, data_format):
    return tuple(shape[1:3]) if data_format == "channels_last" else tuple(shape[2:4])


def pyramid_outputs(model, data_format=None):
    """`{"P{k}": tensor}`: for each stride `2**k` of `model`, its last feature map there.

    Works on every functional model (the factories', converted ones, `keras.applications`):
    strides are read from the feature maps' sizes, at the model's input size or, where that
    is not fixed, at 224x224 (32x32 for inputs of that size or less).

    Example:

    >>> model = resnet(50, "se", input_shape=(224, 224, 3))
    >>> {k: tuple(v.shape) for k, v in pyramid_outputs(model).items()}["P5"]
    (None, 7, 7, 2048)
    """
    data_format = keras.config.image_data_format() if data_format is None else data_format
    if not isinstance(model, keras.Model) or not hasattr(model, "_nodes_by_depth"):
        raise ValueError(f"pyramid_outputs: expected a functional Keras model, got {model!r}.")
    maps = _feature_maps(model)
    if not maps:
        raise ValueError(f"pyramid_outputs: model '{model.name}' has no 4-D feature maps.")
    input_shape = tuple(model.inputs[0].shape)
    size = _spatial(input_shape, data_format)
    shapes = [tuple(output.shape) for _, output in maps]
    if None in size:
        # Sizes at a probe input: the graph run on symbolic tensors of a fixed size.
        probe = list(input_shape)
        axes = (1, 2) if data_format == "channels_last" else (2, 3)
        for axis in axes:
            probe[axis] = 224
        probe[0] = 1
        size = (224, 224)
        outputs = [output for _, output in maps]
        specs = keras.Model(model.inputs, outputs).compute_output_spec(
            keras.KerasTensor(tuple(probe))
        )
        shapes = [tuple(spec.shape) for spec in specs]
    levels = {}
    for (_, output), shape in zip(maps, shapes, strict=True):
        height, width = _spatial(shape, data_format)
        if not height or size[0] % height or size[1] % width:
            continue
        stride = size[0] // height
        if stride != size[1] // width or stride & (stride - 1):
            continue  # padded maps (odd sizes) and unequal strides are not pyramid levels
        levels[f"P{int(math.log2(stride))}"] = output
    return dict(sorted(levels.items(), key=lambda item: int(item[0][1:])))


def feature_extractor(model, levels=None, name=None):
    """A model from `model`'s input to a dict of its pyramid levels (default: all).

    It shares `model`'s layers and weights, so a pretrained backbone feeds a detection or
    segmentation head as it is.

    Args:
        model: a functional model.
        levels: the keys to keep (`("P3", "P4", "P5")`); None: every level.
        name: the new model's name.

    Example:

    >>> backbone = feature_extractor(resnet(18, input_shape=(None, None, 3)), ["P3", "P5"])
    >>> {k: v.shape for k, v in backbone(np.zeros((1, 64, 64, 3))).items()}
    {'P3': (1, 8, 8, 128), 'P5': (1, 2, 2, 512)}
    """
    found = pyramid_outputs(model)
    if levels is not None:
        levels = list(levels)
        unknown = [level for level in levels if level not in found]
        if unknown:
            raise ValueError(
                f"feature_extractor: model '{model.name}' has no level {', '.join(unknown)}; "
                f"it has {', '.join(found)}."
            )
        found = {level: found[level] for level in levels}
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, found, name=name or f"{model.name}_features")

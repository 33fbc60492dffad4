"""What the attention blocks look at: their maps, Grad-CAM, and figures of both.

- `attention_maps(model, images)`: every block's map in one pass of the model,
  `{block layer name: array}` in the order the blocks appear: the block's spatial map
  `(N, H, W)` when it has one, else its channel weights `(N, C)`; values are the gates in
  [0, 1] that the block multiplies its input by (`AttentionBlock.attention`).
- `grad_cam(model, images)`: Grad-CAM heatmaps `(N, H, W)` at the input's resolution.
- `plot_maps`, `plot_stages`, `plot_channel_weights`, `plot_grad_cam`: matplotlib Figures.

Works on any functional model that contains the package's blocks (the factories,
`attach_attention` results, a user's own model), in either data format. `attention_maps` runs
on every Keras backend; `grad_cam` needs TensorFlow (it takes gradients with respect to an
intermediate feature map, which `tf.GradientTape` gives without splitting the model).
"""

import re

import keras
import numpy as np
from keras import ops

from keras_attention.explore.figures import new_figure
from keras_attention.layers.base import AttentionBlock
from keras_attention.models.attach import model_nodes


class _AttentionProbe(keras.layers.Layer):
    """Calls `block.attention` inside a layer, so that a probe model can return the maps of
    a block that sits in the middle of a functional graph (with any spatial size)."""

    def __init__(self, block, **kwargs):
        super().__init__(name=f"{block.name}_maps", **kwargs)
        self.block = block

    def call(self, *args, **kwargs):
        block = self.block
        maps = block.canonical_maps(block.compute_attention(*args, training=False, **kwargs))
        self.keys = sorted(maps)  # the names of the outputs, in order
        return [maps[key] for key in self.keys]


def attention_blocks(model):
    """The attention blocks of `model`'s graph, in the order they are applied, with the node
    that applies each: `[(block, node), ...]`."""
    found = []
    for node in model_nodes(model):
        if isinstance(node.operation, AttentionBlock):
            found.append((node.operation, node))
    return found


def probe_model(model):
    """A model with `model`'s inputs whose outputs are every block's maps (one pass gives
    them all), and the names of those outputs: `(probe, [(block name, map name), ...])`."""
    blocks = attention_blocks(model)
    if not blocks:
        raise ValueError(
            f"attention_maps: model '{model.name}' has no keras_attention block in its graph; "
            "expected a model built by keras_attention.models, attach_attention or one that "
            "calls the blocks in its functional graph"
        )
    outputs, names = [], []
    for block, node in blocks:
        probe = _AttentionProbe(block)
        args = node.arguments.args
        kwargs = {k: v for k, v in node.arguments.kwargs.items() if k != "training"}
        outputs.extend(probe(*args, **kwargs))
        names.extend((block.name, key) for key in probe.keys)
    return keras.Model(model.input, outputs, name=f"{model.name}_attention_probe"), names


def display_map(block, maps):
    """One map to show for a block: its spatial map `(N, H, W)` when it has one (several
    groups or directions are averaged into one), its channel weights `(N, C)`, Global
    Context's added context `(N, C)`, or the channel mean of a gate that varies over both."""
    if "spatial" in maps:
        spatial = np.asarray(maps["spatial"])
        return spatial if spatial.ndim == 3 else spatial.mean(axis=block.channel_axis)
    if "height" in maps:  # coordinate attention: gate = a_h[h, c] * a_w[w, c]
        if block.data_format == "channels_first":
            return (
                np.einsum("nch,ncw->nhw", maps["height"], maps["width"]) / maps["height"].shape[1]
            )
        return np.einsum("nhc,nwc->nhw", maps["height"], maps["width"]) / maps["height"].shape[-1]
    if "channel" in maps:
        return np.asarray(maps["channel"])
    if "add" in maps:  # Global Context's add fusion: the (N, C) context added everywhere
        return np.asarray(maps["add"])
    # A gate that varies over positions and channels (SimAM, triplet, BAM, strip, ...): the
    # block's own product of its maps, averaged over the channels.
    gate = keras.ops.convert_to_numpy(
        block.gate({k: keras.ops.convert_to_tensor(v) for k, v in maps.items()})
    )
    gate = np.broadcast_to(gate, np.broadcast_shapes(*(np.shape(v) for v in maps.values())))
    return gate.mean(axis=block.channel_axis)


def block_maps(model, images, batch_size=32):
    """Every map of every block: `{block name: {map name: array}}`, from one probe model."""
    probe, names = probe_model(model)
    images = np.asarray(images)
    # Direct calls in batches rather than `predict`: a new probe each time would trace a new
    # predict function each time.
    batches = [
        [keras.ops.convert_to_numpy(m) for m in probe(images[i : i + batch_size], training=False)]
        for i in range(0, len(images), batch_size)
    ]
    result = {}
    for index, (block, key) in enumerate(names):
        value = np.concatenate([batch[index] for batch in batches], axis=0).astype(np.float32)
        result.setdefault(block, {})[key] = value
    return result


def attention_maps(model, images, batch_size=32):
    """Each block's attention map for `images`, by block layer name, in the order the blocks
    appear: `(N, H, W)` for blocks with a spatial map, `(N, C)` channel weights otherwise.

    Args:
        model: a functional Keras model containing keras_attention blocks.
        images: a batch of inputs the model takes (as `model.predict` takes them).
        batch_size: images per forward pass.

    Returns:
        A dict `{block name: NumPy array}` whose first axis is the batch; values in [0, 1].

    Example:

    >>> model = keras_attention.models.cifar_resnet(20, attention="ssa")
    >>> maps = attention_maps(model, np.zeros((2, 32, 32, 3), "float32"))
    >>> maps["stage1_block1_attention"].shape
    (2, 32, 32)
    """
    blocks = {block.name: block for block, _ in attention_blocks(model)}
    every = block_maps(model, images, batch_size)
    return {name: display_map(blocks[name], maps) for name, maps in every.items()}


def last_feature_layer(model):
    """The last layer of `model` whose output is a 4-D feature map (Grad-CAM's default)."""
    for layer in reversed(model.layers):
        output = getattr(layer, "output", None)
        if output is not None and not isinstance(output, (list, tuple)) and len(output.shape) == 4:
            return layer
    raise ValueError(f"grad_cam: model '{model.name}' has no layer with a 4-D output")


def _data_format(model):
    """The layout of `model`'s feature maps: that of its last layer with a `data_format`."""
    for layer in reversed(model.layers):
        data_format = getattr(layer, "data_format", None)
        if data_format in ("channels_last", "channels_first"):
            return data_format
    return keras.config.image_data_format()


def grad_cam(model, images, class_index=None, layer=None, batch_size=32):
    """Grad-CAM (Selvaraju et al., 2017) heatmaps at the input's resolution.

    The class score's gradient with respect to a feature map, averaged over the spatial
    positions, weighs that map's channels; the weighted sum, through a ReLU, is the heatmap,
    resized to the input (bilinear) and divided by its maximum.

    Args:
        model: a Keras model with one output of class scores (logits or probabilities); for a
            model with several outputs the first (SE-R's `main`) is used.
        images: a batch of inputs.
        class_index: the class to explain: an int for every image, one per image, or None for
            each image's predicted class.
        layer: a layer or layer name with a 4-D output; default the last such layer.

    Returns:
        `(N, H, W)` heatmaps in [0, 1] (H, W: the input's size).
    """
    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            f"grad_cam needs the tensorflow backend (gradients with respect to an inner "
            f"feature map); the Keras backend is {keras.backend.backend()!r}"
        )
    import tensorflow as tf

    feature_layer = (
        last_feature_layer(model)
        if layer is None
        else (model.get_layer(layer) if isinstance(layer, str) else layer)
    )
    if len(feature_layer.output.shape) != 4:
        raise ValueError(
            f"grad_cam: layer '{feature_layer.name}' has output shape "
            f"{tuple(feature_layer.output.shape)}; expected a 4-D feature map"
        )
    probe = keras.Model(model.input, [feature_layer.output, model.outputs[0]])
    channels_first = _data_format(model) == "channels_first"
    images = np.asarray(images)
    height, width = images.shape[2:4] if channels_first else images.shape[1:3]
    heatmaps = []
    for start in range(0, len(images), batch_size):
        batch = tf.convert_to_tensor(images[start : start + batch_size])
        with tf.GradientTape() as tape:
            features, scores = probe(batch, training=False)
            if class_index is None:
                chosen = tf.argmax(scores, axis=-1)
            elif np.ndim(class_index) == 0:
                chosen = tf.fill([tf.shape(scores)[0]], tf.cast(class_index, tf.int64))
            else:
                chosen = tf.constant(np.asarray(class_index)[start : start + batch_size])
            score = tf.gather(scores, tf.cast(chosen, tf.int32), axis=1, batch_dims=1)
        gradients = tape.gradient(score, features)
        if channels_first:
            features = tf.transpose(features, (0, 2, 3, 1))
            gradients = tf.transpose(gradients, (0, 2, 3, 1))
        weights = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)
        cam = tf.nn.relu(tf.reduce_sum(weights * features, axis=-1, keepdims=True))
        cam = ops.image.resize(cam, (height, width), interpolation="bilinear")[..., 0]
        peak = tf.reduce_max(cam, axis=(1, 2), keepdims=True)
        cam = tf.math.divide_no_nan(cam, peak)
        heatmaps.append(np.clip(np.asarray(cam), 0.0, 1.0))
    return np.concatenate(heatmaps, axis=0)


# --- figures --------------------------------------------------------------------------------


def _as_image(image):
    """An image for `imshow`: (H, W) grey or (H, W, 3) in [0, 1]."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 3 and image.shape[0] in (1, 3) and image.shape[-1] not in (1, 3):
        image = np.transpose(image, (1, 2, 0))
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    low, high = float(image.min()), float(image.max())
    return (image - low) / (high - low) if high > low else np.zeros_like(image)


def stage_of(name):
    """The stage number in a block's layer name (`stage3_block2_attention` -> 3), or None."""
    match = re.search(r"stage(\d+)", name)
    return int(match.group(1)) if match else None


def _spatial(maps):
    return {name: m for name, m in maps.items() if np.ndim(m) == 3}


def plot_maps(images, maps, blocks=None, max_images=4):
    """Each block's spatial map overlaid on the images: one row per image, one column per block
    (blocks with only channel weights are left out). Returns the Figure."""
    spatial = _spatial(maps)
    names = [b for b in (blocks or spatial) if b in spatial]
    if not names:
        raise ValueError("plot_maps: no block with a spatial map (SSA, CBAM, SGE, coord)")
    count = min(max_images, len(images))
    figure, axes = new_figure(count, len(names) + 1, (1.8 * (len(names) + 1), 1.8 * count))
    for i in range(count):
        axes[i, 0].imshow(_as_image(images[i]), cmap="gray")
        axes[i, 0].set_title("image" if i == 0 else "", fontsize=8)
        for j, name in enumerate(names, start=1):
            axes[i, j].imshow(_as_image(images[i]), cmap="gray")
            axes[i, j].imshow(
                _resize(spatial[name][i], _as_image(images[i]).shape[:2]),
                cmap="jet",
                alpha=0.5,
                vmin=0,
                vmax=1,
            )
            if i == 0:
                axes[i, j].set_title(name.replace("_attention", ""), fontsize=7)
    for axis in axes.flat:
        axis.axis("off")
    figure.tight_layout()
    return figure


def _resize(heatmap, size):
    """Nearest-neighbour resize of a 2-D map to `size` for overlays (display only)."""
    rows = (np.arange(size[0]) * heatmap.shape[0] // size[0]).astype(int)
    cols = (np.arange(size[1]) * heatmap.shape[1] // size[1]).astype(int)
    return heatmap[rows][:, cols]


def plot_stages(images, maps, index=0):
    """The spatial map of every block for one image, one row per stage (the map's size shrinks
    as the network downsamples). Returns the Figure."""
    spatial = _spatial(maps)
    if not spatial:
        raise ValueError("plot_stages: no block with a spatial map (SSA, CBAM, SGE, coord)")
    stages = {}
    for name in spatial:
        stages.setdefault(stage_of(name) or 0, []).append(name)
    width = max(len(v) for v in stages.values()) + 1
    figure, axes = new_figure(len(stages), width, (1.8 * width, 1.9 * len(stages)))
    for row, (stage, names) in enumerate(sorted(stages.items())):
        axes[row, 0].imshow(_as_image(images[index]), cmap="gray")
        axes[row, 0].set_title(f"stage {stage}", fontsize=8)
        for col, name in enumerate(names, start=1):
            axes[row, col].imshow(spatial[name][index], cmap="jet", vmin=0, vmax=1)
            axes[row, col].set_title(name.split("_")[1] if "_" in name else name, fontsize=7)
    for axis in axes.flat:
        axis.axis("off")
    figure.tight_layout()
    return figure


def plot_channel_weights(maps, labels=None, classes=None):
    """Channel weights per block, stage by stage, as in the SE paper's figure: the mean weight
    of each channel over the images (one line per class when `labels` are given). Blocks
    without channel weights are left out. Returns the Figure."""
    channel = {name: m for name, m in maps.items() if np.ndim(m) == 2}
    if not channel:
        raise ValueError("plot_channel_weights: no block with channel weights (SE, ECA, SPEM, SRM)")
    names = list(channel)
    columns = min(4, len(names))
    rows = -(-len(names) // columns)
    figure, axes = new_figure(rows, columns, (3.2 * columns, 2.4 * rows))
    labels = None if labels is None else np.asarray(labels)
    for axis, name in zip(axes.flat, names, strict=False):
        weights = channel[name]
        if labels is None:
            axis.plot(weights.mean(axis=0), linewidth=0.8)
        else:
            for label in classes if classes is not None else np.unique(labels):
                chosen = weights[labels == label]
                if len(chosen):
                    axis.plot(chosen.mean(axis=0), linewidth=0.8, label=str(label))
        axis.set_ylim(0, 1)
        axis.set_title(name.replace("_attention", ""), fontsize=8)
        axis.set_xlabel("channel", fontsize=7)
        axis.tick_params(labelsize=6)
    for axis in list(axes.flat)[len(names) :]:
        axis.axis("off")
    if labels is not None:
        axes.flat[0].legend(fontsize=6, ncol=2)
    figure.tight_layout()
    return figure


def plot_grad_cam(images, heatmaps, maps=None, blocks=None, max_images=4):
    """Grad-CAM beside the blocks' own spatial maps: per image, the image, its Grad-CAM overlay
    and the chosen blocks' maps. Returns the Figure."""
    spatial = _spatial(maps or {})
    names = [b for b in (blocks or list(spatial)[-3:]) if b in spatial]
    count = min(max_images, len(images))
    figure, axes = new_figure(count, 2 + len(names), (1.8 * (2 + len(names)), 1.8 * count))
    for i in range(count):
        image = _as_image(images[i])
        axes[i, 0].imshow(image, cmap="gray")
        axes[i, 1].imshow(image, cmap="gray")
        axes[i, 1].imshow(heatmaps[i], cmap="jet", alpha=0.5, vmin=0, vmax=1)
        for j, name in enumerate(names, start=2):
            axes[i, j].imshow(image, cmap="gray")
            axes[i, j].imshow(
                _resize(spatial[name][i], image.shape[:2]), cmap="jet", alpha=0.5, vmin=0, vmax=1
            )
            if i == 0:
                axes[i, j].set_title(name.replace("_attention", ""), fontsize=7)
        if i == 0:
            axes[i, 0].set_title("image", fontsize=8)
            axes[i, 1].set_title("Grad-CAM", fontsize=8)
    for axis in axes.flat:
        axis.axis("off")
    figure.tight_layout()
    return figure

"""Adding attention blocks to an existing functional Keras model."""

import keras

from keras_attention.models.common import AttentionSpec


def model_nodes(model):
    """The model's own nodes, inputs first. A layer reused by another model (for example an
    earlier `attach_attention` result) has further nodes, which must not count here."""
    by_depth = model._nodes_by_depth
    return [node for depth in sorted(by_depth, reverse=True) for node in by_depth[depth]]


def residual_adds(model):
    """The `Add` layers that join a residual branch and a shortcut, with the position of the
    branch among their inputs: the input with the longer path from the model's inputs (an
    identity shortcut is the block input itself; a projection shortcut is one conv + BN, the
    branch several)."""
    depths = {id(t): 0 for t in model.inputs}
    found = {}
    for node in model_nodes(model):
        inputs = node.arguments.keras_tensors if node.arguments else []
        depth = 1 + max((depths.get(id(t), 0) for t in inputs), default=0)
        for t in node.outputs:
            depths[id(t)] = depth
        if isinstance(node.operation, keras.layers.Add) and len(inputs) == 2:
            found[node.operation.name] = max(range(2), key=lambda i: depths[id(inputs[i])])
    return found


def attach_attention(model, attention, attention_kwargs=None, name=None):
    """Returns a new model with an attention block before every residual `Add` of `model`.

    The block goes on the residual branch, just before the branch and the shortcut are added,
    as in SE-ResNet. Every layer of `model` is reused, so the new model starts from the
    original weights (and shares them); only the attention blocks are new. This adds attention
    to a model that is already trained, such as `keras.applications.ResNet50` or
    `MobileNetV2`.

    Args:
        model: a functional Keras model.
        attention: a registered name, Layer class, Layer instance, or callable returning a
            Layer.
        attention_kwargs: arguments for every block.
        name: name of the new model.

    Returns:
        The new model. `model` itself is unchanged.

    Example:

    >>> base = keras.applications.ResNet50(weights=None)
    >>> with_se = attach_attention(base, "se")
    >>> sum(isinstance(l, SqueezeExcitation) for l in with_se.layers)
    16
    """
    if isinstance(model, keras.Sequential):
        branches = {}  # a Sequential model has no two-input Add
    elif isinstance(model, keras.Model) and hasattr(model, "_nodes_by_depth"):
        branches = residual_adds(model)
    else:
        raise ValueError(f"attach_attention needs a functional keras.Model, got {model!r}.")
    if not branches:
        raise ValueError(f"attach_attention: model '{model.name}' has no residual Add layer.")
    spec = AttentionSpec(attention, keras.config.image_data_format(), kwargs=attention_kwargs)

    def call_function(layer, *args, **kwargs):
        if layer.name in branches:
            inputs = list(args[0])
            position = branches[layer.name]
            block = spec.make(f"{layer.name}_attention")
            inputs[position] = block(inputs[position])
            args = (inputs, *args[1:])
        return layer(*args, **kwargs)

    clone = keras.models.clone_model(
        model, clone_function=lambda layer: layer, call_function=call_function
    )
    tag = spec.tag
    # input and output keep the original structure: a single-output model stays one.
    return keras.Model(clone.input, clone.output, name=name or f"{model.name}_{tag}")


def replace_attention(model, attention, attention_kwargs=None, name=None):
    """Returns a new model with every attention block of `model` replaced by `attention`
    (None removes them), every other layer reused with its weights.

    This swaps the SE of a pretrained EfficientNet, MobileNetV3, RegNetY or SE-ResNeXt for
    another block before fine-tuning: the new blocks start fresh at the same positions (the
    family's own block arguments do not carry over), everything else is the pretrained
    network (shared with `model`). A block fed a context (SE-R) cannot be replaced.

    Args:
        model: a functional Keras model with attention blocks (`AttentionBlock` layers).
        attention: a registered name, Layer class, Layer instance, callable or None.
        attention_kwargs: arguments for every new block.
        name: name of the new model.

    Returns:
        The new model; `new_layers` on it lists the names of the new blocks.

    Example:

    >>> base = efficientnet("b0", num_classes=10, input_shape=(64, 64, 3))
    >>> with_eca = replace_attention(base, "eca")
    """
    from keras_attention.layers import AttentionBlock

    if not (isinstance(model, keras.Model) and hasattr(model, "_nodes_by_depth")):
        raise ValueError(f"replace_attention needs a functional keras.Model, got {model!r}.")
    blocks = [layer.name for layer in model.layers if isinstance(layer, AttentionBlock)]
    if not blocks:
        raise ValueError(
            f"replace_attention: model '{model.name}' has no attention block to replace; "
            "attach_attention adds blocks to a model without them."
        )
    spec = AttentionSpec(attention, keras.config.image_data_format(), kwargs=attention_kwargs)
    new_layers = []

    def call_function(layer, *args, **kwargs):
        if layer.name not in blocks:
            return layer(*args, **kwargs)
        if len(args) != 1 or kwargs.get("context") is not None:
            raise ValueError(
                f"replace_attention: block '{layer.name}' takes a context (SE-R); it cannot be "
                "replaced"
            )
        block = spec.make(layer.name)
        if block is None:
            return args[0]
        new_layers.append(block.name)
        return block(args[0])

    clone = keras.models.clone_model(
        model, clone_function=lambda layer: layer, call_function=call_function
    )
    tag = spec.tag if spec else "none"
    replaced = keras.Model(clone.input, clone.output, name=name or f"{model.name}_{tag}")
    replaced.new_layers = new_layers
    return replaced

"""The CIFAR SE-ResNet family of the SE-R paper, with auxiliary classifiers (SE-A) whose
results can feed the SE blocks of the next stage (SE-R)."""

import keras

from keras_attention.catalog import PAPER_AUX_LOSS_WEIGHTS  # noqa: F401 - re-exported
from keras_attention.layers import AuxiliaryClassifier, ResultContext, registry
from keras_attention.models.common import AttentionSpec, Builder, check_classes
from keras_attention.models.resnet import IMAGENET_BLOCKS, residual_stages


def cifar_se_resnet(
    depth=50,
    attention="se",
    reduction=8,
    num_classes=100,
    aux_positions=(),
    feed_attention=True,
    aux_context="logits",
    stop_gradient=False,
    aux_dropout=0.7,
    input_shape=(32, 32, 3),
    data_format=None,
    attention_kwargs=None,
    batchnorm="keras",
    name=None,
):
    """SE-ResNet for CIFAR as in the SE-R paper's code (the pytorch-cifar100 layout).

    Every convolution has a bias; the stem is a 3x3 convolution to 64 channels + BN + ReLU with
    no max pool; four stages of 64/128/256/512 planes; each residual branch ends BN -> ReLU,
    then the attention block, then + shortcut and ReLU.

    Auxiliary classifiers (`AuxiliaryClassifier`, GoogLeNet style) sit after the stages listed
    in `aux_positions`. With `feed_attention=True` (SE-R), the result of the aux head after
    stage k is concatenated to the squeeze vector of every SE block of stage k + 1; with
    `feed_attention=False` (SE-A, the paper's ablation) the heads are only trained.

    Args:
        depth: 18, 34, 50, 101 or 152.
        attention: the block of every residual branch (default SE); SE-R needs a block that
            takes a `context` (`keras_attention.layers.registry.context_blocks()`: SE, FcaNet,
            effective SE, CBAM, light CBAM, ECA-MLP, SRM, Global Context, Gather-Excite).
        reduction: reduction ratio given to blocks that take one (8 in the paper).
        num_classes: number of classes of the main and auxiliary heads.
        aux_positions: stages (1-3) followed by an auxiliary classifier, e.g. `(2, 3)`.
        feed_attention: SE-R (True) or SE-A (False).
        aux_context: `"logits"` or `"softmax"`: how the result enters attention.
        stop_gradient: stop the attention's gradient into the auxiliary classifiers.
        aux_dropout: dropout of the auxiliary classifiers (0.7).
        input_shape: input shape without batch.
        data_format: `"channels_last"` or `"channels_first"`.
        attention_kwargs: further arguments for every attention block.
        batchnorm: `"keras"` or `"torch"`: the moving-variance update of every BatchNormalization,
            the blocks' included (`"torch"`, PyTorch's unbiased update, trains as the
            authors' PyTorch code; `keras_attention.papers` presets use it).

    Returns:
        A model with outputs named `main`, then `aux1`, `aux2`, ... (logits) when there are
        auxiliary classifiers, so that `compile(loss_weights={"aux1": 0.3, ...})` works.

    Example:

    >>> model = cifar_se_resnet(50, aux_positions=(2, 3))
    >>> model.output_names
    ['main', 'aux1', 'aux2']
    """
    if depth not in IMAGENET_BLOCKS:
        raise ValueError(
            f"cifar_se_resnet: depth must be one of {sorted(IMAGENET_BLOCKS)}, got {depth}."
        )
    check_classes("cifar_se_resnet", num_classes)
    positions = sorted(set(aux_positions))
    if any(p not in (1, 2, 3) for p in positions):
        raise ValueError(
            f"cifar_se_resnet: aux_positions must be stages 1-3 (an aux head feeds the next "
            f"stage), got {tuple(aux_positions)}."
        )
    spec = AttentionSpec(
        attention,
        data_format,
        defaults={"reduction": reduction, "batchnorm": batchnorm},
        kwargs=attention_kwargs,
    )
    if feed_attention and positions:
        factory = (
            type(attention)
            if isinstance(attention, keras.layers.Layer)
            else registry.resolve(attention)
        )
        if not getattr(factory, "accepts_context", False):
            raise ValueError(
                f"cifar_se_resnet: SE-R feeds the aux result into the attention blocks, which "
                f"needs a block that takes context= ({', '.join(registry.context_blocks())}); "
                f"got attention={attention!r}. Use "
                f"feed_attention=False for auxiliary heads that do not feed attention (SE-A)."
            )
    block, counts = IMAGENET_BLOCKS[depth]
    b = Builder(data_format, batchnorm=batchnorm)
    inputs = keras.Input(input_shape)
    x = b.conv(inputs, 64, 3, use_bias=True, name="stem_conv")
    x = keras.layers.ReLU(name="stem_relu")(b.batch_norm(x, name="stem_bn"))
    aux_outputs = []

    def auxiliary_head(stage, features):
        """An aux classifier after the listed stages; its result feeds the next stage (SE-R)."""
        if stage not in positions:
            return None
        index = len(aux_outputs) + 1
        logits = AuxiliaryClassifier(
            num_classes,
            dropout=aux_dropout,
            batchnorm=batchnorm,
            data_format=b.data_format,
            name=f"aux{index}",
        )(features)
        aux_outputs.append(logits)
        if not feed_attention:
            return None
        return ResultContext(aux_context, stop_gradient=stop_gradient, name=f"aux{index}_context")(
            logits
        )

    x = residual_stages(
        b,
        x,
        (64, 128, 256, 512),
        counts,
        after_stage=auxiliary_head,
        bottleneck=block == "bottleneck",
        attention=spec,
        conv_bias=True,
        relu_before_attention=True,
    )
    main = keras.layers.Dense(num_classes, name="main")(b.global_pool(x))
    kind = ("r" if feed_attention else "a") if positions else ""
    block = _block_label(attention)
    default_name = f"cifar_{block}{'_' + kind if kind else ''}_resnet{depth}"
    outputs = [main, *aux_outputs] if aux_outputs else main
    return keras.Model(inputs, outputs, name=name or default_name)


def _block_label(attention):
    """`se`, `cbam`, ... (the registered name), or `plain` without attention: the block in the
    model's name (`cifar_se_resnet50`, `cifar_cbam_resnet50`, `cifar_se_r_resnet50`)."""
    if attention is None:
        return "plain"
    if isinstance(attention, str):
        return attention
    cls = attention if isinstance(attention, type) else type(attention)
    names = {registry.resolve(n): n for n in registry.names()}
    return names.get(cls, getattr(cls, "__name__", "custom").lower())


def inference_model(model):
    """The single-output model for inference: the `main` output, keeping exactly the layers
    it depends on (SE-R's aux heads that feed attention stay; SE-A's heads go)."""
    names = [layer.name for layer in model.layers]
    if "main" not in names:
        if len(model.outputs) == 1:
            return model  # already a single-output model
        raise ValueError(
            f"inference_model: model '{model.name}' has outputs {list(model.output_names)} but "
            "no layer named 'main' (the main classifier of cifar_se_resnet models)."
        )
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, model.get_layer("main").output, name=f"{model.name}_inference")

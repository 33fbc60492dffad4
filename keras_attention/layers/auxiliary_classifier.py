import keras
from keras import ops

from keras_attention.layers.base import (
    InputHandling,
    channel_axis,
    check_integer,
    check_number,
    feature_map_channels,
    layer_label,
    standardize_data_format,
)
from keras_attention.layers.batch_normalization import batch_normalization, check_batchnorm
from keras_attention.layers.pooling import adaptive_average_pool


@keras.saving.register_keras_serializable(package="keras_attention")
class AuxiliaryClassifier(InputHandling, keras.layers.Layer):
    """GoogLeNet-style auxiliary classifier, as used by SE-R to feed attention with a result.

    Adaptive average pool to 4x4 -> 1x1 convolution to 128 channels (no bias) ->
    BatchNormalization (epsilon 1e-3) -> ReLU -> flatten (2048) -> Dense 1024 + ReLU ->
    Dropout 0.7 -> Dense `num_classes`. Outputs logits.

    Args:
        num_classes: number of class scores n.
        pool_size: spatial size of the adaptive pool (4 in GoogLeNet).
        conv_filters: filters of the 1x1 convolution (128).
        hidden_units: units of the first fully connected layer (1024).
        dropout: dropout rate between the fully connected layers (0.7).
        epsilon: BatchNormalization epsilon (1e-3, as GoogLeNet's BasicConv2d).
        momentum: BatchNormalization momentum in Keras' convention (PyTorch's 0.1 is 0.9).
        batchnorm: `"keras"` or `"torch"`: how its BatchNormalization updates the moving
            variance in training (`"torch"`: PyTorch's unbiased update, for PyTorch recipes).
        data_format: `"channels_last"` or `"channels_first"`.

    Call arguments:
        inputs: a 4-D feature map of any spatial size.
        training: whether dropout and batch statistics are active.

    Returns:
        `(batch, num_classes)` logits.

    Example:

    >>> x = np.random.rand(2, 16, 16, 128).astype("float32")
    >>> AuxiliaryClassifier(100)(x).shape
    (2, 100)
    """

    def __init__(
        self,
        num_classes,
        pool_size=4,
        conv_filters=128,
        hidden_units=1024,
        dropout=0.7,
        epsilon=1e-3,
        momentum=0.9,
        batchnorm="keras",
        data_format=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        owner = layer_label(self)
        self.num_classes = check_integer(owner, "num_classes", num_classes)
        self.pool_size = check_integer(owner, "pool_size", pool_size)
        self.conv_filters = check_integer(owner, "conv_filters", conv_filters)
        self.hidden_units = check_integer(owner, "hidden_units", hidden_units)
        self.dropout_rate = float(check_number(owner, "dropout", dropout, 0.0, 1.0, False))
        check_number(owner, "epsilon", epsilon, low=0.0)
        check_number(owner, "momentum", momentum, 0.0, 1.0)
        self.epsilon = epsilon
        self.momentum = momentum
        self.batchnorm = check_batchnorm(batchnorm, owner)
        self.data_format = standardize_data_format(data_format)
        self.conv = keras.layers.Conv2D(
            self.conv_filters,
            1,
            use_bias=False,
            data_format=self.data_format,
            dtype=self.dtype_policy,
            name="conv",
        )
        self.norm = batch_normalization(
            batchnorm,
            axis=channel_axis(self.data_format),
            epsilon=epsilon,
            momentum=momentum,
            dtype=self.dtype_policy,
            name="norm",
        )
        # Flatten in (height, width, channels) order in both layouts, so weights carry over.
        self.flatten = keras.layers.Flatten(data_format=self.data_format, dtype=self.dtype_policy)
        self.hidden = keras.layers.Dense(
            self.hidden_units, activation="relu", dtype=self.dtype_policy, name="hidden"
        )
        self.dropout = keras.layers.Dropout(self.dropout_rate, dtype=self.dtype_policy)
        self.classifier = keras.layers.Dense(
            self.num_classes, dtype=self.dtype_policy, name="classifier"
        )

    def build(self, input_shape):
        channels = feature_map_channels(self, input_shape, self.data_format)
        self.input_spec = keras.InputSpec(ndim=4, axes={channel_axis(self.data_format): channels})
        pooled = (
            (None, self.pool_size, self.pool_size, channels)
            if self.data_format == "channels_last"
            else (None, channels, self.pool_size, self.pool_size)
        )
        self.conv.build(pooled)
        conv_out = self.conv.compute_output_shape(pooled)
        self.norm.build(conv_out)
        self.hidden.build((None, self.pool_size * self.pool_size * self.conv_filters))
        self.classifier.build((None, self.hidden_units))

    def call(self, inputs, training=None):
        x = adaptive_average_pool(inputs, (self.pool_size, self.pool_size), self.data_format)
        x = ops.relu(self.norm(self.conv(x), training=training))
        x = self.hidden(self.flatten(x))
        return self.classifier(self.dropout(x, training=training))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "pool_size": self.pool_size,
                "conv_filters": self.conv_filters,
                "hidden_units": self.hidden_units,
                "dropout": self.dropout_rate,
                "epsilon": self.epsilon,
                "momentum": self.momentum,
                "batchnorm": self.batchnorm,
                "data_format": self.data_format,
            }
        )
        return config

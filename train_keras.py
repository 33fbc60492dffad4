"""Build a small attention CNN, print its summary and train it on the bundled digits.

A first version of the package's main command: it runs offline on scikit-learn's handwritten
digits (1,797 real 8x8 images, 10 classes) with a fixed train/test split.

    python train_keras.py --attention se --epochs 20
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from keras_attention import layers  # noqa: E402


def load_digits_split(seed=0):
    """Digits scaled to [0, 1] as (N, 8, 8, 1) images, 80/20 stratified split."""
    digits = load_digits()
    images = (digits.images / 16.0).astype("float32")[..., None]
    return train_test_split(
        images, digits.target, test_size=0.2, random_state=seed, stratify=digits.target
    )


def build_model(attention, num_classes=10, width=32):
    inputs = keras.Input((8, 8, 1))
    x = inputs
    for filters in (width, 2 * width):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization(momentum=0.9)(x)
        x = keras.layers.ReLU()(x)
        block = layers.get(attention)
        if block is not None:
            x = block(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(num_classes)(x)
    return keras.Model(inputs, outputs, name=f"digits_cnn_{attention or 'plain'}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--attention", default="se", help=f"one of {layers.names()} or 'none' (default: se)"
    )
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(args.seed)
    attention = None if args.attention.lower() == "none" else args.attention
    x_train, x_test, y_train, y_test = load_digits_split(args.seed)
    model = build_model(attention)
    model.summary()
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(
        x_train,
        y_train,
        validation_data=(x_test, y_test),
        epochs=args.epochs,
        batch_size=args.batch_size,
        verbose=2,
    )
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy {accuracy:.4f}, test loss {loss:.4f} ({len(y_test)} images)")
    return accuracy


if __name__ == "__main__":
    main()

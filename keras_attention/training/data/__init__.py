"""The data: the bundled digits, tensorflow-datasets and folders of images as tf.data pipelines.

`load(name, ...)` returns `Splits(train, validation, test, info)`: un-batched data sets of raw
`(uint8 image, int32 label)` pairs, as the images are stored, and a `DataInfo`. The validation
split is a fixed, seeded fraction of the training data (it chooses `best.keras`); the test split
is used only for the final figures.

`pipeline(dataset, info, augmentation, training, batch_size)` turns raw images into model
inputs: scaling to [0, 1], resizing (and for ImageNet-style sets cropping), the recipe's
augmentation when training, normalisation by the data set's mean and standard deviation,
batching and one-hot labels. The evaluation path is made of the Keras preprocessing layers of
`preprocessing_layers`, which the export puts inside the served model, so a deployed model
computes exactly what evaluation computed.

Names: `"digits"` (scikit-learn's 1,797 real 8x8 handwritten digits, bundled and offline,
with a fixed stratified 80/20 train/test split), `"cifar10"`, `"cifar100"`, `"imagenette"`,
`"imagenet2012"` (tensorflow-datasets; ImageNet needs its manual download directory), and
`"dir:PATH"` for a folder with one sub-folder of images per class.

The modules: `info` (`DataInfo`, the splits' fractions, statistics), `sources` (`load` and each
source), `image_folders` (finding and checking the images of a folder), `pipelines` (the
preprocessing layers, augmentations and the batched pipeline). This package gives all their
names, as the flat layout's `keras_attention.data` module did.

Within floor 5 (`training`), the data imports only floor 0 (`catalog`, `io`, `errors`),
TensorFlow and tensorflow-datasets: nothing of the rest of `training`, which uses it.
"""

# ruff: noqa: F401 - the names below are this package's interface

from keras_attention.errors import DataError
from keras_attention.training.data.image_folders import (
    CHECK_LOG_SECONDS,
    DECODED_FORMATS,
    FORMAT_ENDS,
    OTHER_FORMATS,
    directory_fingerprint,
    find_images,
    unreadable_reason,
)
from keras_attention.training.data.info import (
    AUGMENTATIONS,
    AUTOTUNE,
    CENTER_CROP_FRACTION,
    DEFAULT_VALIDATION_FRACTION,
    IMAGE_EXTENSIONS,
    STATISTICS,
    TEST_FRACTION,
    TEST_SPLIT_SEED,
    DataInfo,
    fingerprint_changes,
    info_from_dict,
)
from keras_attention.training.data.pipelines import (
    augmenter,
    check_augmentation,
    normalization_layer,
    pad_and_crop,
    pipeline,
    preprocessing_contract,
    preprocessing_layers,
    random_resized_crop,
    random_rotation,
)
from keras_attention.training.data.sources import (
    DOWNLOAD_RETRIES,
    Splits,
    load,
    load_digits,
    load_directory,
    load_tfds,
    prepare_tfds,
)

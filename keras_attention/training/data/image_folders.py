"""Folders of images (`dir:PATH`, one sub-folder per class): finding the images, checking that each
decodes (an unreadable one gets a person's reason: empty file, truncated PNG, not an image,
unsupported format), and the folder's fingerprint.
"""

import hashlib
import json
import os

import numpy as np
import tensorflow as tf

from keras_attention.errors import DataError
from keras_attention.training.data.info import IMAGE_EXTENSIONS

# The first bytes of each format TensorFlow's decoder reads, and of formats it does not.
DECODED_FORMATS = {
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"BM": "BMP",
}


OTHER_FORMATS = {b"II*\x00": "TIFF", b"MM\x00*": "TIFF", b"RIFF": "WebP or another RIFF file"}


# Where each decoded format's data ends when the file is whole.
FORMAT_ENDS = {"PNG": b"IEND\xaeB`\x82", "JPEG": b"\xff\xd9", "GIF": b";"}


def unreadable_reason(path):
    """Why TensorFlow's image decoder refused `path`, in a person's words, from the file's
    bytes: an empty file, not an image, an image format it does not read, a truncated or
    otherwise damaged PNG/JPEG/GIF/BMP. (The decoder's own message names its kernel and
    device, not the file's fault.)"""
    with open(path, "rb") as handle:
        head = handle.read(16)
        handle.seek(max(0, os.path.getsize(path) - 16))
        tail = handle.read().rstrip(b"\x00")
    if not head:
        return "empty file"
    kind = next((k for magic, k in DECODED_FORMATS.items() if head.startswith(magic)), None)
    if kind is None:
        other = next((k for magic, k in OTHER_FORMATS.items() if head.startswith(magic)), None)
        if other is not None:
            return f"unsupported format ({other}); use PNG, JPEG, GIF or BMP"
        return "not an image (not PNG, JPEG, GIF or BMP data)"
    if kind in FORMAT_ENDS and not tail.endswith(FORMAT_ENDS[kind]):
        return f"truncated {kind} (the file ends before the image does)"
    return f"damaged {kind} (its data cannot be decoded)"


def _decodes(path):
    """`(problem, (height, width))`: why TensorFlow's decoder (the one the pipeline uses)
    cannot read `path` (else None), and the image's size."""
    try:
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        if image.shape[0] == 0 or image.shape[1] == 0:
            return "empty image (no pixels)", None
    except (tf.errors.InvalidArgumentError, tf.errors.OpError):
        return unreadable_reason(path), None
    return None, (int(image.shape[0]), int(image.shape[1]))


CHECK_LOG_SECONDS = 5.0  # how often the image check of a folder reports how far it is


def _stamp(path):
    """What says a file is unchanged since it was checked: its size and modification time."""
    stat = os.stat(path)
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def _visible(name):
    """Hidden files and folders (`.ipynb_checkpoints`, `.DS_Store`) are not data."""
    return not name.startswith(".")


def _check_cache_path(directory):
    root = os.environ.get("KERAS_ATTENTION_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "keras_attention"
    )
    key = hashlib.sha256(os.path.abspath(directory).encode()).hexdigest()[:20]
    return os.path.join(root, "image_checks", f"{key}.json")


def find_images(directory, log=None):
    """`(paths, labels, class_names, size, skipped)` for a folder with one sub-folder per
    class: `size` is the `(height, width)` every image has (None when they differ) and
    `skipped` the files that are not images (by extension), which are left out. Hidden files
    and folders are ignored.

    Every image is decoded once, before training, by the decoder the pipeline uses, so that a
    corrupt file or one whose content does not match its name is reported by name and reason
    instead of failing in the middle of `fit`. What was checked is remembered (by path, size
    and modification time) in `~/.cache/keras_attention` (or `$KERAS_ATTENTION_CACHE`), so a
    second run on an unchanged folder does not decode again. `log` gets a line every few
    seconds while images are decoded, with how many are left.
    """
    from keras_attention.io import progress

    if not os.path.isdir(directory):
        raise ValueError(f"dataset: image folder {directory!r} does not exist")
    class_names = sorted(
        d
        for d in os.listdir(directory)
        if _visible(d) and os.path.isdir(os.path.join(directory, d))
    )
    if len(class_names) < 2:
        raise DataError(
            f"dataset: image folder {directory!r} has {len(class_names)} class sub-folder(s) "
            f"{class_names}; expected at least 2 (one sub-folder of images per class)"
        )
    cache_path = _check_cache_path(directory)
    try:
        with open(cache_path) as handle:
            checked = json.load(handle)
    except (OSError, ValueError):
        checked = {}
    candidates, skipped = [], []
    for label, class_name in enumerate(class_names):
        folder = os.path.join(directory, class_name)
        for file_name in sorted(filter(_visible, os.listdir(folder))):
            path = os.path.join(folder, file_name)
            if not os.path.isfile(path):
                continue
            if file_name.lower().endswith(IMAGE_EXTENSIONS):
                candidates.append((path, label, _stamp(path)))
            else:
                skipped.append(path)
    paths, labels, bad, remembered, sizes = [], [], [], {}, set()
    counter = progress.Counter(
        sum(str(checked.get(path, "")).rpartition(":")[0] != stamp for path, _, stamp in candidates)
    )
    last = counter.started
    for path, label, stamp in candidates:
        known_stamp, _, known_size = str(checked.get(path, "")).rpartition(":")
        if known_stamp == stamp and "x" in known_size:
            problem, size = None, tuple(int(v) for v in known_size.split("x"))
        else:
            problem, size = _decodes(path)
            counter.step()
            if log is not None and counter.clock() - last > CHECK_LOG_SECONDS:
                last = counter.clock()
                log(f"checking the images of {directory}: {counter.status()}")
        if problem:
            bad.append(f"{path}: {problem}")
            continue
        remembered[path] = f"{stamp}:{size[0]}x{size[1]}"
        sizes.add(size)
        paths.append(path)
        labels.append(label)
    if bad:
        listed = "\n  ".join(bad)
        raise DataError(f"{len(bad)} unreadable image(s) in {directory!r}:\n  {listed}")
    counts = np.bincount(np.asarray(labels, dtype=int), minlength=len(class_names))
    if min(counts) < 2:
        empty = [name for name, n in zip(class_names, counts, strict=True) if n < 2]
        raise DataError(
            f"dataset: image folder {directory!r} has too few images: classes {empty} have "
            f"fewer than 2 ({', '.join(IMAGE_EXTENSIONS)} files); every class needs at least 2"
        )
    try:
        os.makedirs(os.path.dirname(cache_path), exist_ok=True)
        with open(cache_path + ".tmp", "w") as handle:
            json.dump(remembered, handle)
        os.replace(cache_path + ".tmp", cache_path)
    except OSError:
        pass  # a read-only home only costs the next run another check
    size = sizes.pop() if len(sizes) == 1 else None
    return paths, labels, class_names, size, skipped


def directory_fingerprint(directory, paths, labels, class_names):
    """The images of a folder by relative path and size: their count and bytes, the count per
    class, and a digest of the list."""
    digest = hashlib.sha256()
    total = 0
    for path in sorted(str(p) for p in paths):
        size = os.path.getsize(path)
        total += size
        digest.update(f"{os.path.relpath(path, directory)}\0{size}\n".encode())
    counts = np.bincount(np.asarray(labels, "int64"), minlength=len(class_names))
    return {
        "source": "folder",
        "images": len(paths),
        "bytes": total,
        "classes": {name: int(n) for name, n in zip(class_names, counts, strict=True)},
        "sha256": digest.hexdigest(),
    }

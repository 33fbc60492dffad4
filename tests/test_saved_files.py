"""Files saved by earlier versions of the package load and compute what they computed."""

import os

import keras
import numpy as np

from keras_attention import layers

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def test_a_model_with_every_block_saved_before_the_package_moved_loads_and_agrees():
    """`fixtures/every_block.keras` was written by `fixtures/make_every_block_model.py` with
    the package of 2026-12-07 (before its modules moved into folders): every registered
    object must still be found under the name it was saved with."""
    model = keras.saving.load_model(os.path.join(FIXTURES, "every_block.keras"))
    stored = np.load(os.path.join(FIXTURES, "every_block_io.npz"))
    held = {type(layer) for layer in model.layers}
    assert {layers.registry.resolve(name) for name in layers.names()} <= held
    others = {layers.AuxiliaryClassifier, layers.ResultContext, layers.TorchBatchNormalization}
    assert others <= held
    logits, aux = model(stored["x"], training=False)
    np.testing.assert_allclose(np.asarray(logits), stored["logits"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(aux), stored["aux"], rtol=1e-5, atol=1e-5)
    assert np.abs(stored["logits"][0] - stored["logits"][1]).max() > 1e-3  # not a constant

"""Keras' own layer checks (`keras.src.testing.TestCase.run_layer_test`) on every block.

They build the layer from its config, call it eagerly and symbolically, compare
`compute_output_shape` and `compute_output_spec` with the output, round-trip it through
`get_config` and `from_config` and through a saved model, fit it in a model for a step, and
run it under the `mixed_float16` policy, as Keras checks its own layers.
"""

import keras
import pytest
from keras.src import testing

from keras_attention import layers

SHAPE = (2, 6, 5, 16)  # batch, height, width, channels: small and not square


class _KerasChecks(testing.TestCase):
    def runTest(self):  # run_layer_test is called from the pytest functions below
        pass


@pytest.fixture
def keras_checks():
    case = _KerasChecks()
    case.setUp()
    yield case
    case.doCleanups()


def _arguments(name):
    """Constructor arguments that fit SHAPE (the registry's defaults otherwise)."""
    return {"sge": {"groups": 4}, "bam": {"reduction": 4}, "fca": {"reduction": 4}}.get(name, {})


@pytest.mark.parametrize("name", layers.names())
def test_keras_run_layer_test(name, keras_checks):
    cls = layers.registry.resolve(name)
    assert issubclass(cls, keras.layers.Layer)
    keras_checks.run_layer_test(
        cls,
        init_kwargs=_arguments(name),
        input_shape=SHAPE,
        expected_output_shape=SHAPE,
        expected_num_losses=1 if name == "spem" else 0,  # SPEM adds its penalty on p
        supports_masking=False,
    )


def test_keras_run_layer_test_with_a_context(keras_checks):
    """SE-R's call with an auxiliary result, through Keras' checks, for a block of each kind."""
    for cls in (layers.SqueezeExcitation, layers.GlobalContext, layers.SRM):
        keras_checks.run_layer_test(
            cls,
            init_kwargs={},
            input_shape={"inputs_shape": SHAPE, "context_shape": (2, 5)},
            expected_output_shape=SHAPE,
            supports_masking=False,
            # Keras' fit check feeds a dict of inputs to a one-input model wrapper; the
            # context's training is tested in test_models.py (SE-R fits).
            run_training_check=False,
        )

"""Recipes: learning rates at given steps, and optimizer steps computed by hand."""

import keras
import numpy as np
import pytest

from keras_attention import optimizers, recipes


def lr_at(recipe, step, steps_per_epoch, batch_size=None):
    schedule = recipe.learning_rate_schedule(steps_per_epoch, batch_size)
    return float(schedule(step))


def test_se_r_cifar_schedule():
    recipe = recipes.get("se_r_cifar")
    steps = 391  # 50,000 / 128
    assert lr_at(recipe, 0, steps) == 0.0  # linear warm-up over the first epoch
    assert lr_at(recipe, 195, steps) == pytest.approx(0.1 * 195 / 391)
    assert lr_at(recipe, steps, steps) == pytest.approx(0.1)
    assert lr_at(recipe, 60 * steps - 1, steps) == pytest.approx(0.1)
    assert lr_at(recipe, 60 * steps, steps) == pytest.approx(0.02)
    assert lr_at(recipe, 120 * steps, steps) == pytest.approx(0.004)
    assert lr_at(recipe, 160 * steps, steps) == pytest.approx(0.0008)
    assert (recipe.epochs, recipe.batch_size, recipe.nesterov) == (200, 128, True)
    assert recipe.weight_decay == 5e-4 and recipe.aux_loss_weights == (0.3, 0.3)


def test_spem_and_ssa_and_imagenet_schedules():
    spem = recipes.get("spem_cifar")
    assert lr_at(spem, 81 * 10 - 1, 10) == pytest.approx(0.1)
    assert lr_at(spem, 81 * 10, 10) == pytest.approx(0.01)
    assert lr_at(spem, 122 * 10, 10) == pytest.approx(0.001)
    assert spem.epochs == 164 and spem.weight_decay == 1e-4 and spem.spem_alpha == 0.1
    ssa = recipes.get("ssa_cifar")
    assert [lr_at(ssa, e * 5, 5) for e in (0, 49, 50, 100)] == pytest.approx(
        [0.1, 0.1, 0.01, 0.001]
    )
    imagenet = recipes.get("resnet_imagenet")
    assert [lr_at(imagenet, e * 7, 7) for e in (29, 30, 60, 89)] == pytest.approx(
        [0.1, 0.01, 0.001, 0.001]
    )


def test_mobilenet_v2_recipe_mirrors_the_official_one():
    recipe = recipes.get("mobilenet_v2")
    steps = 1000
    assert lr_at(recipe, 0, steps) == pytest.approx(0.045)
    assert lr_at(recipe, int(2.5 * steps) - 1, steps) == pytest.approx(0.045)  # staircase
    assert lr_at(recipe, int(2.5 * steps), steps) == pytest.approx(0.045 * 0.98)
    assert lr_at(recipe, 100 * steps, steps) == pytest.approx(0.045 * 0.98**40)
    # The learning rate scales with the batch size: 0.045 at 96, so 0.09 at 192.
    assert lr_at(recipe, 0, steps, batch_size=192) == pytest.approx(0.09)
    optimizer = recipe.optimizer(steps)
    assert isinstance(optimizer, optimizers.RMSprop)
    assert (optimizer.rho, optimizer.momentum, optimizer.epsilon) == (0.9, 0.9, 1.0)
    assert optimizer.initial_mean_square == 1.0
    assert optimizer.use_ema and optimizer.ema_momentum == 0.9999
    assert optimizer.coupled_weight_decay == 4e-5 and optimizer.decay_scope == "kernels"
    assert recipe.label_smoothing == 0.1 and recipe.dropout == 0.2


def test_cosine_schedule_of_the_digits_recipe():
    recipe = recipes.get("digits")
    assert lr_at(recipe, 10, 10) == pytest.approx(0.05 * 0.5 * (1 + np.cos(np.pi / 15)))
    assert lr_at(recipe, 150, 10) == pytest.approx(0.0, abs=1e-9)


def test_recipe_registry_and_overrides():
    assert set(recipes.names()) >= {
        "mobilenet_v2",
        "se_r_cifar",
        "spem_cifar",
        "ssa_cifar",
        "resnet_imagenet",
        "digits",
    }
    assert recipes.get("spem_cifar", epochs=3).epochs == 3
    with pytest.raises(ValueError, match="Unknown recipe 'adamw'"):
        recipes.get("adamw")
    schedule = recipes.get("se_r_cifar").learning_rate_schedule(10)
    clone = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(schedule))
    assert [float(clone(s)) for s in (3, 700, 1300)] == [float(schedule(s)) for s in (3, 700, 1300)]


def test_schedules_are_keras_own_behind_the_warm_up():
    from keras_attention import schedules

    spem = recipes.get("spem_cifar").learning_rate_schedule(10)
    assert isinstance(spem, keras.optimizers.schedules.PiecewiseConstantDecay)
    mobilenet = recipes.get("mobilenet_v2").learning_rate_schedule(10)
    assert isinstance(mobilenet, keras.optimizers.schedules.ExponentialDecay)
    se_r = recipes.get("se_r_cifar").learning_rate_schedule(10)
    assert isinstance(se_r, schedules.LinearWarmup)
    assert isinstance(se_r.schedule, keras.optimizers.schedules.PiecewiseConstantDecay)
    digits = recipes.get("digits").learning_rate_schedule(10)
    assert isinstance(digits.schedule, keras.optimizers.schedules.CosineDecay)


def _variable(values, name="kernel"):
    return keras.Variable(np.array(values, "float32"), name=name)


def test_sgd_step_with_coupled_weight_decay_and_nesterov():
    # PyTorch SGD(nesterov, weight_decay): d = g + wd w; b = m b + d; w -= lr (d + m b).
    w0 = np.array([[1.0, -2.0]], "float32")
    g = np.array([[0.3, 0.4]], "float32")
    lr, m, wd = 0.1, 0.9, 0.05
    weights = _variable(w0)
    optimizer = optimizers.SGD(lr, momentum=m, nesterov=True, coupled_weight_decay=wd)
    optimizer.apply([g], [weights])
    d = g + wd * w0
    b = d
    np.testing.assert_allclose(weights.numpy(), w0 - lr * (d + m * b), rtol=1e-6)
    d2 = g + wd * weights.numpy()
    w1 = weights.numpy()
    optimizer.apply([g], [weights])
    b2 = m * b + d2
    np.testing.assert_allclose(weights.numpy(), w1 - lr * (d2 + m * b2), rtol=1e-6)


def test_coupled_decay_differs_from_keras_decoupled_decay():
    # The first step from zero momentum is the same; from the second on, coupled decay has
    # entered the momentum buffer and the two differ.
    g = np.array([0.3], "float32")
    coupled, decoupled = _variable([1.0]), _variable([1.0])
    ours = optimizers.SGD(0.1, momentum=0.9, coupled_weight_decay=0.5)
    theirs = keras.optimizers.SGD(0.1, momentum=0.9, weight_decay=0.5)
    for _ in range(2):
        ours.apply([g], [coupled])
        theirs.apply([g], [decoupled])
    b1 = 0.3 + 0.5 * 1.0
    w1 = 1.0 - 0.1 * b1
    b2 = 0.9 * b1 + 0.3 + 0.5 * w1
    assert coupled.numpy()[0] == pytest.approx(w1 - 0.1 * b2, rel=1e-6)
    assert abs(decoupled.numpy()[0] - coupled.numpy()[0]) > 1e-3


def test_decay_scope_kernels_skips_biases_and_depthwise_kernels():
    g = np.zeros((1,), "float32")
    bias = _variable([1.0], name="bias")
    kernel = keras.Variable(np.ones((1, 1), "float32"), name="kernel")
    depthwise = keras.Variable(np.ones((1, 1), "float32"), name="depthwise_kernel")
    optimizer = optimizers.SGD(1.0, coupled_weight_decay=0.1, decay_scope="kernels")
    optimizer.apply(
        [g, np.zeros((1, 1), "float32"), np.zeros((1, 1), "float32")], [bias, kernel, depthwise]
    )
    assert bias.numpy()[0] == 1.0 and depthwise.numpy()[0, 0] == 1.0
    assert kernel.numpy()[0, 0] == pytest.approx(0.9)


def test_tf1_rmsprop_step():
    # TF1: ms = rho ms + (1 - rho) g^2 with ms starting at 1; mom = m mom + lr g / sqrt(ms + eps).
    w0, g = 1.0, 2.0
    lr, rho, m, eps = 0.045, 0.9, 0.9, 1.0
    weights = _variable([w0])
    optimizer = optimizers.RMSprop(lr, rho=rho, momentum=m, epsilon=eps)
    optimizer.apply([np.array([g], "float32")], [weights])
    ms = rho * 1.0 + (1 - rho) * g**2
    mom = lr * g / np.sqrt(ms + eps)
    assert weights.numpy()[0] == pytest.approx(w0 - mom, rel=1e-6)
    optimizer.apply([np.array([g], "float32")], [weights])
    ms = rho * ms + (1 - rho) * g**2
    mom = m * mom + lr * g / np.sqrt(ms + eps)
    assert weights.numpy()[0] == pytest.approx(w0 - lr * g / np.sqrt(1.3 + eps) - mom, rel=1e-6)


def test_optimizers_serialize():
    for optimizer in (
        optimizers.SGD(0.1, coupled_weight_decay=1e-4),
        optimizers.RMSprop(0.1, epsilon=1.0, coupled_weight_decay=4e-5, decay_scope="kernels"),
    ):
        config = keras.optimizers.serialize(optimizer)
        clone = keras.optimizers.deserialize(config)
        assert type(clone) is type(optimizer)
        assert clone.coupled_weight_decay == optimizer.coupled_weight_decay

"""Training as the authors' PyTorch code trains: torch.optim.SGD's momentum, BatchNorm2d's
unbiased moving variance, and a whole network's training steps against PyTorch itself."""

import keras
import numpy as np
import pytest

import keras_attention as ka
from keras_attention import layers, models, optimizers, schedules


def numpy_torch_sgd(weights, gradients, rates, momentum, nesterov, weight_decay):
    """torch.optim.SGD's step, written out: g += wd * w; b = g (first step) else mu * b + g;
    d = g + mu * b (Nesterov) or b; w -= lr * d."""
    w = [x.astype(np.float64).copy() for x in weights]
    buffers = [None] * len(w)
    for step, lr in enumerate(rates):
        for i, g in enumerate(gradients[step]):
            g = g + weight_decay * w[i]
            buffers[i] = g.copy() if buffers[i] is None else momentum * buffers[i] + g
            d = g + momentum * buffers[i] if nesterov else buffers[i]
            w[i] = w[i] - lr * d
    return w


def warmup_and_two_drops():
    """Linear warm-up over 10 steps to 0.1, then /5 at step 40 and again at step 70."""
    after = keras.optimizers.schedules.PiecewiseConstantDecay([39, 69], [0.1, 0.02, 0.004])
    return schedules.LinearWarmup(after, 10, 0.1)


@pytest.mark.parametrize("nesterov", [True, False])
def test_torch_sgd_equals_torch_optim_sgd_through_a_warmup_and_two_drops(nesterov):
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (4,), (2, 2, 3)]
    # float64, so that the comparison is of the update rule, not of float32 rounding.
    initial = [rng.normal(size=s) for s in shapes]
    gradients = [[rng.normal(size=s) for s in shapes] for _ in range(100)]
    schedule = warmup_and_two_drops()
    rates = [float(schedule(step)) for step in range(100)]
    assert rates[0] == 0.0 and rates[5] == pytest.approx(0.05) and rates[80] == pytest.approx(0.004)

    def run(optimizer):
        variables = [keras.Variable(w, dtype="float64") for w in initial]
        for grads in gradients:
            optimizer.apply([keras.ops.convert_to_tensor(g) for g in grads], variables)
        return [keras.ops.convert_to_numpy(v) for v in variables]

    common = dict(momentum=0.9, nesterov=nesterov, coupled_weight_decay=5e-4)
    got = run(optimizers.TorchSGD(learning_rate=warmup_and_two_drops(), **common))
    expected = numpy_torch_sgd(initial, gradients, rates, 0.9, nesterov, 5e-4)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=0, atol=1e-6)
    # Keras' semantics (rate folded into the buffer) really is another trajectory.
    keras_semantics = run(optimizers.SGD(learning_rate=warmup_and_two_drops(), **common))
    assert max(np.abs(k - e).max() for k, e in zip(keras_semantics, expected, strict=True)) > 1e-2


def test_torch_sgd_round_trips_through_its_config():
    optimizer = optimizers.TorchSGD(0.1, momentum=0.9, nesterov=True, coupled_weight_decay=1e-4)
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert type(restored) is optimizers.TorchSGD
    assert restored.nesterov and restored.coupled_weight_decay == 1e-4


@pytest.mark.parametrize("shape,axis", [((4, 5, 6, 3), -1), ((4, 3, 5, 6), 1), ((4, 7), -1)])
def test_torch_batchnorm_updates_the_moving_variance_with_the_unbiased_variance(shape, axis):
    rng = np.random.default_rng(1)
    x = (rng.normal(size=shape) * 3 + 2).astype("float32")
    layer = layers.TorchBatchNormalization(axis=axis)
    reference = keras.layers.BatchNormalization(axis=axis, momentum=0.9, epsilon=1e-5)
    y = keras.ops.convert_to_numpy(layer(x, training=True))
    y_keras = keras.ops.convert_to_numpy(reference(x, training=True))
    reduce = tuple(i for i in range(len(shape)) if i != axis % len(shape))
    n = np.prod([shape[i] for i in reduce])
    mean = x.astype(np.float64).mean(axis=reduce)
    biased = x.astype(np.float64).var(axis=reduce)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.1 * mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        layer.moving_variance.numpy(), 0.9 + 0.1 * biased * n / (n - 1), rtol=1e-5
    )
    # Keras' layer: biased update; both normalise the batch with the biased variance.
    np.testing.assert_allclose(reference.moving_variance.numpy(), 0.9 + 0.1 * biased, rtol=1e-5)
    np.testing.assert_allclose(y, y_keras, rtol=1e-5, atol=1e-5)
    # Inference uses the moving statistics, as Keras does.
    inference = keras.ops.convert_to_numpy(layer(x, training=False))
    std = np.sqrt(layer.moving_variance.numpy() + 1e-5)
    expand = [1] * len(shape)
    expand[axis] = shape[axis]
    expected = (x - layer.moving_mean.numpy().reshape(expand)) / std.reshape(expand)
    np.testing.assert_allclose(inference, expected, rtol=1e-4, atol=1e-5)


def test_batchnorm_option_reaches_every_batch_normalization_and_survives_saving(tmp_path):
    model = models.cifar_se_resnet(18, num_classes=10, aux_positions=(2,), batchnorm="torch")
    norms = [
        layer
        for layer in model._flatten_layers(include_self=False, recursive=True)
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    assert norms and all(isinstance(n, layers.TorchBatchNormalization) for n in norms)
    for block in ("srm", "ssa", "cbam", "coord"):
        net = models.cifar_resnet(8, block, batchnorm="torch")
        inner = net.get_layer("stage1_block1_attention")
        assert inner.batchnorm == "torch"
        assert any(
            isinstance(layer, layers.TorchBatchNormalization)
            for layer in inner._flatten_layers(include_self=False)
        )
    net = models.cifar_resnet(8, "srm", batchnorm="torch")
    path = str(tmp_path / "net.keras")
    net.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.get_layer("stem_bn"), layers.TorchBatchNormalization)
    assert isinstance(
        loaded.get_layer("stage1_block1_attention").norm, layers.TorchBatchNormalization
    )
    with pytest.raises(ValueError, match="batchnorm must be one of"):
        models.cifar_resnet(8, batchnorm="pytorch")


def test_pytorch_recipes_train_with_torch_semantics():
    for name in ("se_r_cifar", "spem_cifar", "ssa_cifar", "resnet_imagenet"):
        recipe = ka.recipes.get(name)
        assert recipe.batchnorm == "torch"
        assert type(recipe.optimizer(10)) is optimizers.TorchSGD
    assert type(ka.recipes.get("mobilenet_v2").optimizer(10)) is optimizers.RMSprop
    assert type(ka.recipes.get("se_r_cifar", optimizer_name="sgd").optimizer(10)) is (
        optimizers.SGD
    )


# --- a whole network against PyTorch --------------------------------------------------------


def torch_cifar_resnet8(torch):
    """The SPEM code's CIFAR ResNet-8 (one basic block per stage) in PyTorch."""
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, cin, planes, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.down = None
            if stride != 1 or cin != planes:
                self.down = nn.Sequential(
                    nn.Conv2d(cin, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
                )

        def forward(self, x):
            y = torch.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            return torch.relu((x if self.down is None else self.down(x)) + y)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem_conv = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
            self.stem_bn = nn.BatchNorm2d(16)
            self.stages = nn.ModuleList([Block(16, 16, 1), Block(16, 32, 2), Block(32, 64, 2)])
            self.fc = nn.Linear(64, 10)

        def forward(self, x):
            x = torch.relu(self.stem_bn(self.stem_conv(x)))
            for stage in self.stages:
                x = stage(x)
            return self.fc(x.mean(dim=(2, 3)))

    return Net()


def _pairs(net):
    """(Keras layer name, torch module) for every conv, BatchNorm and the classifier."""
    pairs = [("stem_conv", net.stem_conv), ("stem_bn", net.stem_bn), ("predictions", net.fc)]
    for s, block in enumerate(net.stages, start=1):
        name = f"stage{s}_block1"
        pairs += [(f"{name}_conv1", block.conv1), (f"{name}_bn1", block.bn1)]
        pairs += [(f"{name}_conv2", block.conv2), (f"{name}_bn2", block.bn2)]
        if block.down is not None:
            pairs += [(f"{name}_down", block.down[0]), (f"{name}_down_bn", block.down[1])]
    return pairs


def _keras_as_torch(layer):
    """The layer's state in PyTorch's layout and names."""
    w = [keras.ops.convert_to_numpy(v) for v in layer.weights]
    if isinstance(layer, keras.layers.BatchNormalization):
        return dict(zip(("weight", "bias", "running_mean", "running_var"), w, strict=True))
    if isinstance(layer, keras.layers.Dense):
        return {"weight": w[0].T, "bias": w[1]}
    return {"weight": w[0].transpose(3, 2, 0, 1)}


@pytest.mark.slow
def test_cifar_resnet_trains_step_for_step_like_pytorch_through_a_rate_drop():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    keras.utils.set_random_seed(0)
    model = models.cifar_resnet(8, num_classes=10, input_shape=(16, 16, 3), batchnorm="torch")
    net = torch_cifar_resnet8(torch)
    with torch.no_grad():
        for name, module in _pairs(net):
            for key, value in _keras_as_torch(model.get_layer(name)).items():
                getattr(module, key).copy_(torch.from_numpy(np.ascontiguousarray(value)))
    rates = [0.1, 0.1, 0.02, 0.02, 0.02]  # a /5 drop after two steps
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([1], [0.1, 0.02])
    model.compile(
        optimizer=optimizers.TorchSGD(
            schedule, momentum=0.9, nesterov=True, coupled_weight_decay=5e-4
        ),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        jit_compile=False,
    )
    sgd = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    before = [keras.ops.convert_to_numpy(w).copy() for w in model.trainable_weights]
    rng = np.random.default_rng(0)
    net.train()
    for lr in rates:
        x = rng.normal(size=(8, 16, 16, 3)).astype("float32")
        labels = rng.integers(0, 10, size=8)
        model.train_on_batch(x, np.eye(10, dtype="float32")[labels])
        for group in sgd.param_groups:
            group["lr"] = lr
        sgd.zero_grad()
        logits = net(torch.from_numpy(x.transpose(0, 3, 1, 2).copy()))
        torch.nn.functional.cross_entropy(logits, torch.from_numpy(labels)).backward()
        sgd.step()
    assert model.optimizer.iterations.numpy() == 5
    worst = 0.0
    for name, module in _pairs(net):
        for key, value in _keras_as_torch(model.get_layer(name)).items():
            theirs = getattr(module, key).detach().numpy()
            worst = max(worst, float(np.abs(value - theirs).max()))
    assert worst <= 1e-4, worst
    # The weights moved far more than the two differ, so the comparison means something.
    moved = max(
        float(np.abs(keras.ops.convert_to_numpy(w) - b).max())
        for w, b in zip(model.trainable_weights, before, strict=True)
    )
    assert moved > 100 * worst, (moved, worst)

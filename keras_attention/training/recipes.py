"""The papers' training recipes, by name: optimizer, learning-rate schedule, weight decay,
regularisation, epochs, batch size and auxiliary loss weights.

A recipe is data (`Recipe`); `recipe.optimizer(steps_per_epoch, batch_size)` turns it into a
Keras optimizer with a step-based schedule (`keras_attention.schedules`). The learning rate
scales linearly with the batch size from the recipe's reference batch size.

Importing this module does not import Keras, so that the command line can list and check
recipes before a backend is loaded.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A reproducible training recipe. Learning rates are for `reference_batch_size`."""

    name: str
    description: str
    # "torch_sgd" (PyTorch's momentum semantics), "sgd" (Keras') or "rmsprop" (TF1's)
    optimizer_name: str
    learning_rate: float
    reference_batch_size: int
    epochs: int
    batch_size: int
    schedule: str = "constant"
    milestones: tuple = ()
    decay_factor: float = 0.1
    decay_epochs: float = 1.0
    warmup_epochs: float = 0.0
    momentum: float = 0.9
    nesterov: bool = False
    rho: float = 0.9
    epsilon: float = 1e-7
    weight_decay: float = 0.0  # coupled (added to the gradient), see keras_attention.optimizers
    decay_scope: str = "all"
    label_smoothing: float = 0.0
    ema_momentum: float = 0.0  # 0: no weight EMA
    dropout: float = 0.0  # for models that take a classifier dropout
    aux_loss_weights: tuple = ()
    spem_alpha: float = 0.1
    augmentation: str = "none"  # a keras_attention.data augmentation name
    # How the models' BatchNormalization updates its moving variance: "torch" (unbiased, as the
    # PyTorch code the recipe comes from) or "keras".
    batchnorm: str = "keras"

    def scaled_learning_rate(self, batch_size=None):
        return self.learning_rate * (batch_size or self.batch_size) / self.reference_batch_size

    def learning_rate_schedule(self, steps_per_epoch, batch_size=None, epochs=None):
        """The schedule in optimizer steps (`steps_per_epoch` at the batch size used)."""
        from keras_attention.training import schedules

        return schedules.build(
            self.scaled_learning_rate(batch_size),
            steps_per_epoch,
            kind=self.schedule,
            milestones=self.milestones,
            factor=self.decay_factor,
            decay_epochs=self.decay_epochs,
            total_epochs=epochs or self.epochs,
            warmup_epochs=self.warmup_epochs,
        )

    def optimizer(self, steps_per_epoch, batch_size=None, epochs=None):
        """A new optimizer for this recipe (`steps_per_epoch` at the batch size used)."""
        from keras_attention.training import optimizers

        schedule = self.learning_rate_schedule(steps_per_epoch, batch_size, epochs)
        common = dict(
            learning_rate=schedule,
            coupled_weight_decay=self.weight_decay,
            decay_scope=self.decay_scope,
            use_ema=self.ema_momentum > 0,
            ema_momentum=self.ema_momentum or 0.99,
        )
        if self.optimizer_name == "torch_sgd":
            return optimizers.TorchSGD(momentum=self.momentum, nesterov=self.nesterov, **common)
        if self.optimizer_name == "sgd":
            return optimizers.SGD(momentum=self.momentum, nesterov=self.nesterov, **common)
        if self.optimizer_name == "rmsprop":
            return optimizers.RMSprop(
                rho=self.rho, momentum=self.momentum, epsilon=self.epsilon, **common
            )
        raise ValueError(f"Recipe {self.name!r}: unknown optimizer {self.optimizer_name!r}.")

    def loss(self):
        """Cross-entropy on logits with the recipe's label smoothing (one-hot labels)."""
        import keras

        return keras.losses.CategoricalCrossentropy(
            from_logits=True, label_smoothing=self.label_smoothing
        )

    def to_dict(self):
        return dataclasses.asdict(self)


RECIPES = {
    recipe.name: recipe
    for recipe in (
        Recipe(
            name="mobilenet_v2",
            description=(
                "MobileNetV2 paper section 6.1 as the official TF-slim run: RMSProp (TF1: mean "
                "square from 1, epsilon 1.0 inside the square root), decay 0.9, momentum 0.9, lr "
                "0.045 at batch 96, x0.98 every 2.5 epochs (staircase), L2 4e-5 on conv and Dense "
                "kernels, label smoothing 0.1, dropout 0.2, weight EMA 0.9999; SSANet ran 400 "
                "epochs."
            ),
            optimizer_name="rmsprop",
            learning_rate=0.045,
            reference_batch_size=96,
            epochs=400,
            batch_size=96,
            schedule="exponential",
            decay_factor=0.98,
            decay_epochs=2.5,
            rho=0.9,
            momentum=0.9,
            epsilon=1.0,
            weight_decay=4e-5,
            decay_scope="kernels",
            label_smoothing=0.1,
            ema_momentum=0.9999,
            dropout=0.2,
            augmentation="imagenet",
        ),
        Recipe(
            name="se_r_cifar",
            description=(
                "SE-R paper, CIFAR-100: SGD (PyTorch semantics) with Nesterov momentum 0.9, lr 0.1 "
                "at batch 128, 1 epoch linear warm-up, /5 at epochs 60, 120, 160, 200 epochs, "
                "coupled weight decay 5e-4, aux loss weights (0.3, 0.3) for depth 50 (34: 0.4, "
                "0.4; 101: 0.3, 0.2); pad-4 crop, flip, rotation 15 degrees, mean/std "
                "normalisation."
            ),
            optimizer_name="torch_sgd",
            batchnorm="torch",
            learning_rate=0.1,
            reference_batch_size=128,
            epochs=200,
            batch_size=128,
            schedule="multistep",
            milestones=(60, 120, 160),
            decay_factor=0.2,
            warmup_epochs=1.0,
            nesterov=True,
            weight_decay=5e-4,
            aux_loss_weights=(0.3, 0.3),
            augmentation="cifar_rotate",
        ),
        Recipe(
            name="spem_cifar",
            description=(
                "SPEM paper, CIFAR: SGD (PyTorch semantics) momentum 0.9, lr 0.1 at batch 128, "
                "x0.1 at epochs 81 and 122, 164 epochs, coupled weight decay 1e-4, SPEM penalty "
                "alpha 0.1; pad-4 crop, flip, normalisation."
            ),
            optimizer_name="torch_sgd",
            batchnorm="torch",
            learning_rate=0.1,
            reference_batch_size=128,
            epochs=164,
            batch_size=128,
            schedule="multistep",
            milestones=(81, 122),
            weight_decay=1e-4,
            spem_alpha=0.1,
            augmentation="cifar",
        ),
        Recipe(
            name="ssa_cifar",
            description=(
                "SSANet, CIFAR: SGD (PyTorch semantics) momentum 0.9, lr 0.1 at batch 100, x0.1 "
                "every 50 epochs, coupled weight decay 5e-4; pad-4 crop, flip. The write-up gives "
                "no epoch count: 150 here (three steps of 50)."
            ),
            optimizer_name="torch_sgd",
            batchnorm="torch",
            learning_rate=0.1,
            reference_batch_size=100,
            epochs=150,
            batch_size=100,
            schedule="multistep",
            milestones=(50, 100),
            weight_decay=5e-4,
            augmentation="cifar_no_normalize",
        ),
        Recipe(
            name="resnet_imagenet",
            description=(
                "ResNet on ImageNet: SGD (PyTorch semantics) momentum 0.9, lr 0.1 at batch 256, "
                "x0.1 every 30 epochs, 90 epochs, coupled weight decay 1e-4; random resized crop "
                "224 + flip."
            ),
            optimizer_name="torch_sgd",
            batchnorm="torch",
            learning_rate=0.1,
            reference_batch_size=256,
            epochs=90,
            batch_size=256,
            schedule="multistep",
            milestones=(30, 60),
            weight_decay=1e-4,
            augmentation="imagenet",
        ),
        Recipe(
            name="digits",
            description=(
                "The bundled digits demo (not from a paper): SGD with Nesterov momentum 0.9, lr "
                "0.05 at batch 64, 1 epoch warm-up then cosine decay, 15 epochs, coupled weight "
                "decay 5e-4, pad-crop and normalisation."
            ),
            optimizer_name="sgd",
            learning_rate=0.05,
            reference_batch_size=64,
            epochs=15,
            batch_size=64,
            schedule="cosine",
            warmup_epochs=1.0,
            nesterov=True,
            weight_decay=5e-4,
            augmentation="digits",
        ),
    )
}


def names():
    """The names of the recipes."""
    return list(RECIPES)


def check(name):
    """Returns `name` if it names a recipe, else raises ValueError listing them."""
    if name not in RECIPES:
        from keras_attention.catalog import suggest

        raise ValueError(
            f"recipe: unknown recipe {name!r}{suggest(name, names())}; expected one of "
            f"{', '.join(names())}"
        )
    return name


def get(name, **overrides):
    """The recipe called `name`, with any field replaced by `overrides`."""
    if isinstance(name, Recipe):
        recipe = name
    elif name in RECIPES:
        recipe = RECIPES[name]
    else:
        raise ValueError(f"Unknown recipe {name!r}; expected one of {names()}.")
    return dataclasses.replace(recipe, **overrides) if overrides else recipe

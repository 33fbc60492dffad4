"""The description of a training run (`TrainConfig`) and its checks.

This module imports neither Keras nor TensorFlow: the command line builds and checks a run's
configuration, and rejects an impossible one, before a backend is loaded.
"""

import dataclasses

from keras_attention import catalog, recipes

STRATEGIES = ("none", "mirrored", "multiworker")


@dataclasses.dataclass
class TrainConfig:
    """Everything that defines a run; `metrics.json` records it whole.

    `None` means "the recipe's" (epochs, batch size, auxiliary loss weights) or "the data
    set's" (image size).
    """

    model: str = "cifar_resnet20"
    attention: str = "se"  # a registered name or "none"
    dataset: str = "digits"
    recipe: str = "digits"
    epochs: int = None
    batch_size: int = None
    image_size: int = None
    output_dir: str = "runs/digits"
    mixed_precision: bool = False
    xla: bool = False
    strategy: str = "none"  # "none", "mirrored" or "multiworker"
    reduction: int = None
    aux_positions: tuple = ()
    feed_attention: bool = True
    aux_loss_weights: tuple = None
    attention_kwargs: dict = dataclasses.field(default_factory=dict)
    # Further arguments of the model factory (batchnorm, stride_on, aux_dropout, ...); the
    # recipe's batchnorm is used unless one is given here.
    model_kwargs: dict = dataclasses.field(default_factory=dict)
    seed: int = 0
    data_dir: str = None
    manual_dir: str = None
    steps_per_epoch: int = None  # None: the whole training set
    validation_split: float = 0.1  # of the training data; chooses best.keras (0: none)
    overwrite: bool = False  # start again even if output_dir holds this run, finished or not
    verbose: int = 1

    def to_dict(self):
        return dataclasses.asdict(self)

    def validate(self):
        """Raises ValueError naming the option, the value and what is allowed, for the first
        impossible setting; returns the config otherwise."""
        family, _ = catalog.parse_model(self.model)
        catalog.check_block(self.attention)
        catalog.check_dataset(self.dataset)
        recipes.check(self.recipe)
        if self.strategy not in STRATEGIES:
            raise ValueError(
                f"strategy: unknown strategy {self.strategy!r}; expected one of "
                f"{', '.join(STRATEGIES)}"
            )
        for name in ("epochs", "batch_size", "image_size", "reduction", "steps_per_epoch"):
            value = getattr(self, name)
            if value is not None and (not _is_int(value) or value < 1):
                raise ValueError(f"{name}: expected a positive integer, got {value!r}")
        if not isinstance(self.validation_split, (int, float)) or not (
            0.0 <= self.validation_split < 1.0
        ):
            raise ValueError(
                f"validation_split: expected a fraction in [0, 1), got {self.validation_split!r}"
            )
        if self.image_size is not None and self.image_size < 8:
            raise ValueError(f"image_size: expected at least 8 pixels, got {self.image_size}")
        if self.aux_positions:
            if family != "cifar_se_resnet":
                raise ValueError(
                    f"aux_positions: auxiliary classifiers are an option of cifar_se_resnet "
                    f"models, not of {self.model!r}; got {tuple(self.aux_positions)}"
                )
            bad = [p for p in self.aux_positions if p not in (1, 2, 3)]
            if bad or len(set(self.aux_positions)) != len(self.aux_positions):
                raise ValueError(
                    f"aux_positions: expected distinct stages among 1, 2, 3 (a head feeds the "
                    f"next stage), got {tuple(self.aux_positions)}"
                )
        if self.aux_loss_weights is not None:
            if not self.aux_positions:
                raise ValueError(
                    f"aux_loss_weights: the model has no auxiliary classifier (give "
                    f"aux_positions); got {tuple(self.aux_loss_weights)}"
                )
            if len(self.aux_loss_weights) != len(self.aux_positions):
                raise ValueError(
                    f"aux_loss_weights: expected one weight per auxiliary position "
                    f"{tuple(self.aux_positions)}, got {tuple(self.aux_loss_weights)}"
                )
            if any(w < 0 for w in self.aux_loss_weights):
                raise ValueError(
                    f"aux_loss_weights: expected weights >= 0, got {tuple(self.aux_loss_weights)}"
                )
        if not self.feed_attention and not self.aux_positions:
            raise ValueError(
                "feed_attention: SE-A (no feeding) needs auxiliary classifiers; give aux_positions"
            )
        if self.attention == "none" and (self.reduction or self.attention_kwargs):
            raise ValueError(
                "attention_kwargs/reduction: block options given with attention 'none'"
            )
        for name in ("attention_kwargs", "model_kwargs"):
            if not isinstance(getattr(self, name), dict):
                raise ValueError(
                    f"{name}: expected a mapping of NAME=VALUE arguments, got "
                    f"{getattr(self, name)!r}"
                )
        batchnorm = self.model_kwargs.get("batchnorm", "keras")
        if batchnorm not in ("keras", "torch"):
            raise ValueError(
                f"model_kwargs: batchnorm must be 'keras' or 'torch', got {batchnorm!r}"
            )
        return self


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)

"""The description of a training run (`TrainConfig`), its checks, and its resolution into what
a run needs (`resolve` -> `RunPlan`).

A `TrainConfig` is what the user says; `resolve(config)` turns it, once, into the recipe (with
the configuration's learning rate), the epochs and batch size, the model factory's arguments
(block, block options, BatchNorm semantics, dropout, auxiliary heads) and the loss weights.
Training, tuning (each trial is the search's configuration with the trial's values replaced),
`compare` and `reproduce` (a paper's row holds a configuration) and `papers.build` all build
their networks through it, so the same values give the same network wherever they come from.

This module imports neither Keras nor TensorFlow: the command line builds and checks a run's
configuration, and rejects an impossible one, before a backend is loaded.
"""

import dataclasses
import os

from keras_attention import catalog
from keras_attention.errors import ConfigError
from keras_attention.training import recipes

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
    # The learning rate at the batch size used; None: the recipe's, scaled linearly from its
    # reference batch size.
    learning_rate: float = None
    epochs: int = None
    batch_size: int = None
    image_size: int = None
    output_dir: str = None  # None: runs/DATASET-MODEL-ATTENTION (`default_output_dir`)
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
    # A pretrained network to fine-tune (`keras-attention list presets`, or a local hub-layout
    # folder): it replaces `model`, and its preprocessing is the run's; `attention` replaces
    # its own blocks (its SE), or is attached to a network without any ("none": as it is).
    preset: str = None
    data_dir: str = None
    manual_dir: str = None
    steps_per_epoch: int = None  # None: the whole training set
    validation_split: float = 0.1  # of the training data; chooses best.keras (0: none)
    overwrite: bool = False  # start again even if output_dir holds this run, finished or not
    verbose: int = 1

    def to_dict(self):
        return dataclasses.asdict(self)

    def run_dir(self):
        """The run's folder: `output_dir`, or the default named from data, model and block."""
        return self.output_dir or default_output_dir(self)

    def validate(self):
        """Raises ValueError naming the option, the value and what is allowed, for the first
        impossible setting; returns the config otherwise."""
        family, _ = catalog.parse_model(self.model)
        catalog.check_block(self.attention)
        if self.preset is not None:
            from keras_attention.pretrained import presets

            presets.resolve(self.preset)
        catalog.check_dataset(self.dataset)
        recipes.check(self.recipe)
        if self.strategy not in STRATEGIES:
            raise ValueError(
                f"strategy: unknown strategy {self.strategy!r}; expected one of "
                f"{', '.join(STRATEGIES)}"
            )
        if self.learning_rate is not None and (
            not isinstance(self.learning_rate, (int, float))
            or isinstance(self.learning_rate, bool)
            or not self.learning_rate > 0
        ):
            raise ValueError(f"learning_rate: expected a number > 0, got {self.learning_rate!r}")
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
        catalog.check_arguments(
            self.model, self.attention, self.attention_kwargs, self.model_kwargs
        )
        return self


def recorded_values(record):
    """The effective values (`config.effective_values`) a `run.json` or `metrics.json` record
    holds, or computes from its configuration (older folders recorded only that)."""
    if record.get("effective") is not None:
        return record["effective"]
    recorded = record.get("config", record)
    try:
        return effective_values(from_record(recorded))
    except (TypeError, ValueError):  # a configuration this version cannot resolve: as written
        return {k: v for k, v in recorded.items() if k not in NOT_IDENTITY}


def check_configuration(folder, run):
    """Raises `ConfigError` when `folder` holds a run (finished or not) whose effective values
    differ from those of `run` (a `RunPlan`, or a `TrainConfig` to resolve); returns its
    `run.json` record (None when there is none)."""
    from keras_attention.io import run_folder

    plan = planned(run)
    config = plan.config
    if not isinstance(folder, run_folder.RunFolder):
        folder = run_folder.RunFolder(folder)
    record = folder.read_json(run_folder.RUN_RECORD)
    recorded = record if record is not None else folder.read_json(run_folder.METRICS)
    if recorded is not None:
        theirs, mine = recorded_values(recorded), plan.effective_values()
        if config.dataset.startswith("dir:") and mine.get("image_size") is None:
            # A folder's default size is its images' own, which the data's fingerprint checks.
            mine["image_size"] = theirs.get("image_size")
        changes = differences(theirs, mine)
        if changes:
            raise ConfigError(
                f"output_dir: {folder.directory!r} holds a run with another configuration "
                f"({', '.join(changes)}); give another output_dir, or overwrite=True "
                "(--overwrite) to replace it"
            )
    return record


def default_output_dir(config):
    """`runs/digits-cifar_resnet20-se`: the data set (a `dir:` folder by its name), the model
    and the block, so that runs of different networks or data do not share a folder."""
    dataset = config.dataset
    if dataset.startswith("dir:"):
        dataset = os.path.basename(os.path.normpath(dataset[4:])) or "images"
    model = config.model
    if config.preset:
        model = os.path.basename(os.path.normpath(config.preset))
    return os.path.join("runs", f"{dataset}-{model}-{config.attention}")


# Settings that do not change what a run computes.
NOT_IDENTITY = ("verbose", "overwrite", "output_dir")
# The image size each named data set uses when none is given (dir: folders: the images').
DEFAULT_IMAGE_SIZES = {
    "digits": 32,
    "cifar10": 32,
    "cifar100": 32,
    "imagenette": 224,
    "imagenet2012": 224,
}


def effective_values(config):
    """What a run of `config` computes with (`RunPlan.effective_values` of `resolve(config)`).
    Two configurations with the same effective values are the same run, however they were
    written."""
    return resolve(config).effective_values()


def planned(run):
    """The `RunPlan` of `run`: a `RunPlan` as it is, a `TrainConfig` resolved (`resolve`)."""
    return run if isinstance(run, RunPlan) else resolve(run)


def differences(recorded, current):
    """`["epochs: 1 -> 2", ...]` between two effective-value dicts."""
    keys = sorted(set(recorded) | set(current))
    return [
        f"{k}: {recorded.get(k)!r} -> {current.get(k)!r}"
        for k in keys
        if recorded.get(k) != current.get(k)
    ]


@dataclasses.dataclass(frozen=True)
class RunPlan:
    """What a run needs, resolved once from a `TrainConfig` (`resolve`).

    `model_arguments` are the keyword arguments of `keras_attention.models.build` except the
    data set's classes and image shape; `loss_weights` are by output name (None for a model
    without auxiliary heads).
    """

    config: TrainConfig
    recipe: recipes.Recipe
    epochs: int
    batch_size: int
    model_arguments: dict
    loss_weights: dict = None

    def effective_values(self):
        """What the run computes with, as JSON-like values: the configuration with every
        default filled in (the recipe's epochs, batch size, learning rate at that batch size,
        BatchNorm and SPEM alpha, the loss weights, the data set's image size), less the
        settings that change nothing (`NOT_IDENTITY`)."""
        from keras_attention.io.run_folder import jsonable

        config = self.config
        values = {k: v for k, v in config.to_dict().items() if k not in NOT_IDENTITY}
        values["epochs"] = self.epochs
        values["batch_size"] = self.batch_size
        values["learning_rate"] = self.recipe.scaled_learning_rate(self.batch_size)
        if values["image_size"] is None:
            values["image_size"] = DEFAULT_IMAGE_SIZES.get(config.dataset)
        arguments = dict(self.model_arguments)
        values["attention_kwargs"] = dict(arguments.pop("attention_kwargs") or {})
        values["model_kwargs"] = {k: v for k, v in arguments.items() if k != "attention"}
        values["aux_loss_weights"] = self.loss_weights
        values["attention"] = config.attention
        return jsonable(values)

    def load_data(self, log=None, dataset=None):
        """The run's data splits (`keras_attention.data.load` with the configuration's data
        set, image size, folders, seed and validation split); `dataset` replaces the data
        set."""
        from keras_attention.training import data

        config = self.config
        preset = self.preset()
        splits = data.load(
            dataset or config.dataset,
            config.image_size or (preset.input_size[0] if preset else None),
            config.data_dir,
            config.manual_dir,
            config.seed,
            config.validation_split,
            log=log,
            channels=preset.channels if preset else None,
        )
        if preset is None:
            return splits
        # The pretrained network expects its own normalisation and resizing.
        info = dataclasses.replace(
            splits.info,
            mean=tuple(preset.mean),
            std=tuple(preset.std),
            interpolation=preset.interpolation,
            crop_fraction=preset.crop_pct,
        )
        return splits._replace(info=info)

    def preset(self):
        """The `keras_attention.presets.Preset` of the run, or None."""
        if not self.config.preset:
            return None
        from keras_attention.pretrained import presets

        return presets.resolve(self.config.preset)

    def steps_per_epoch(self, info):
        """Optimizer steps per epoch on a data set with `info` (`keras_attention.data`)."""
        return self.config.steps_per_epoch or -(-info.train_size // self.batch_size)

    def build_model(self, num_classes, input_shape):
        """The run's network (uncompiled)."""
        from keras_attention import models

        if self.config.preset:
            return self._pretrained(num_classes, input_shape)
        try:
            return models.build(
                self.config.model,
                num_classes=num_classes,
                input_shape=tuple(input_shape),
                **self.model_arguments,
            )
        except (ValueError, TypeError) as error:
            # The network follows from the configuration alone: what cannot be built is a
            # setting that cannot work.
            raise ConfigError(str(error)) from error

    def _pretrained(self, num_classes, input_shape):
        """The preset's network; a block given replaces the network's own blocks (the
        pretrained SE of an EfficientNet, a MobileNetV3, a RegNetY or an SE-ResNeXt) or, in a
        network without any, is attached before every residual add. `weight_sources` on the
        model names the weights loaded from the checkpoint and those that start fresh."""
        from keras_attention import models
        from keras_attention.layers import AttentionBlock, registry

        model = models.from_preset(self.config.preset, num_classes, tuple(input_shape))
        new = list(getattr(model, "new_layers", []))
        attention = self.model_arguments.get("attention")
        kwargs = self.model_arguments.get("attention_kwargs")
        if attention not in (None, "none"):
            blocks = [layer for layer in model.layers if isinstance(layer, AttentionBlock)]
            same = blocks and all(type(b) is registry.resolve(attention) for b in blocks)
            if blocks and not (same and not kwargs):
                model = models.replace_attention(model, attention, kwargs)
                new += model.new_layers
            elif not blocks:
                before = {layer.name for layer in model.layers}
                model = models.attach_attention(model, attention, kwargs)
                new += [layer.name for layer in model.layers if layer.name not in before]
        model.weight_sources = {
            "preset": self.config.preset,
            "loaded": [w.path for w in model.weights if w.path.split("/")[0] not in new],
            "new": [w.path for w in model.weights if w.path.split("/")[0] in new],
        }
        return model


def resolve(config):
    """The `RunPlan` of `config`: checks it (`ConfigError` for the first impossible setting)
    and fills in what the recipe and the model family decide."""
    try:
        config.validate()
    except ConfigError:
        raise
    except ValueError as error:
        raise ConfigError(str(error)) from error
    recipe = recipes.get(config.recipe)
    batch_size = config.batch_size or recipe.batch_size
    if config.learning_rate is not None:
        recipe = recipes.get(
            recipe, learning_rate=float(config.learning_rate), reference_batch_size=batch_size
        )
    family, depth = catalog.parse_model(config.model)
    attention = None if config.attention in (None, "none") else config.attention
    attention_kwargs = dict(config.attention_kwargs or {})
    if attention == "spem":
        attention_kwargs.setdefault("alpha", recipe.spem_alpha)
    options = {"batchnorm": recipe.batchnorm, "dropout": recipe.dropout}
    options.update(config.model_kwargs or {})
    loss_weights = None
    if family == "cifar_se_resnet":
        options.update(
            aux_positions=tuple(config.aux_positions), feed_attention=config.feed_attention
        )
        if config.reduction:
            options["reduction"] = config.reduction
        loss_weights = _loss_weights(config, recipe, depth)
    elif config.reduction and attention:
        attention_kwargs["reduction"] = config.reduction
    return RunPlan(
        config=config,
        recipe=recipe,
        epochs=config.epochs or recipe.epochs,
        batch_size=batch_size,
        model_arguments={
            "attention": attention,
            "attention_kwargs": attention_kwargs or None,
            **options,
        },
        loss_weights=loss_weights,
    )


def _loss_weights(config, recipe, depth):
    """Main 1; the auxiliary heads' from the configuration, else the paper's for the depth, else
    the recipe's, else 0.3 each (whichever has one weight per head)."""
    count = len(config.aux_positions)
    if not count:
        return None
    candidates = (
        config.aux_loss_weights,
        catalog.PAPER_AUX_LOSS_WEIGHTS.get(depth),
        recipe.aux_loss_weights,
    )
    weights = next((w for w in candidates if w and len(w) == count), (0.3,) * count)
    return {"main": 1.0, **{f"aux{i + 1}": float(w) for i, w in enumerate(weights)}}


def from_record(recorded):
    """The `TrainConfig` that a run's or a search's record holds (`to_dict()` as JSON; fields
    this version does not know are left out, lists become the tuples the fields hold)."""
    names = {field.name for field in dataclasses.fields(TrainConfig)}
    values = {k: v for k, v in recorded.items() if k in names}
    for name in ("aux_positions", "aux_loss_weights"):
        if isinstance(values.get(name), list):
            values[name] = tuple(values[name])
    return TrainConfig(**values)


def with_hyperparameters(base, values):
    """`base` with hyperparameter `values` replaced, as a search's trial is (`attention`,
    `reduction`, `aux_positions`, `aux1_weight`/`aux2_weight` as the auxiliary loss weights,
    `aux_dropout` as a factory option, `spem_alpha` as SPEM's `alpha`, `learning_rate`)."""
    changes = {}
    attention_kwargs = dict(base.attention_kwargs or {})
    model_kwargs = dict(base.model_kwargs or {})
    for name in ("attention", "reduction", "learning_rate"):
        if name in values:
            changes[name] = values[name]
    if "aux_positions" in values:
        changes["aux_positions"] = tuple(int(p) for p in str(values["aux_positions"]).split(","))
    if "aux1_weight" in values:
        weights = [values["aux1_weight"]]
        if "aux2_weight" in values:
            weights.append(values["aux2_weight"])
        changes["aux_loss_weights"] = tuple(float(w) for w in weights)
    if "aux_dropout" in values:
        model_kwargs["aux_dropout"] = values["aux_dropout"]
    if "spem_alpha" in values:
        attention_kwargs["alpha"] = values["spem_alpha"]
    return dataclasses.replace(
        base, attention_kwargs=attention_kwargs, model_kwargs=model_kwargs, **changes
    )


def from_search(directory):
    """The `TrainConfig` of the best trial of the search in `directory` (the output folder of
    `keras-attention tune`): the search's configuration with the trial's hyperparameters, and
    the recipe's full training (its epochs, every step of each) rather than the short trials of
    the search."""
    from keras_attention.io import run_folder

    remedy = "give the --output-dir of a finished 'keras-attention tune'"
    record = run_folder.read_json(os.path.join(directory, "search.json"), remedy)
    best = run_folder.read_json(os.path.join(directory, "best_hyperparameters.json"), remedy)
    if record is None or best is None:
        raise ConfigError(
            f"{directory!r} holds no finished search (search.json and "
            f"best_hyperparameters.json); {remedy}"
        )
    base = dataclasses.replace(
        from_record(record["config"]), epochs=None, steps_per_epoch=None, output_dir=None
    )
    if not best.get("hyperparameters"):
        raise ConfigError(f"{directory!r}: the search has no finished trial yet")
    return with_hyperparameters(base, best["hyperparameters"])


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)

"""A run's model and data, assembled from its `RunPlan` (`keras_attention.config.resolve`):
the compiled model and the labelled pipelines. Training and tuning both use these."""

from keras_attention.training import data


def output_names(model):
    """The names to label data with: None for a single-output model."""
    return list(model.output_names) if len(model.outputs) > 1 else None


def monitor(model):
    """The validation metric that chooses the best model."""
    return "val_main_accuracy" if output_names(model) else "val_accuracy"


def compile_model(
    model, recipe, steps_per_epoch, batch_size, epochs, loss_weights=None, jit_compile=False
):
    """Compiles with the recipe's optimizer and loss; models with auxiliary heads get a loss per
    output, `loss_weights` by name and accuracy on `main`."""
    names = output_names(model)
    loss = recipe.loss()
    model.compile(
        optimizer=recipe.optimizer(steps_per_epoch, batch_size, epochs),
        loss={name: loss for name in names} if names else loss,
        loss_weights=loss_weights,
        metrics={"main": ["accuracy"]} if names else ["accuracy"],
        jit_compile=jit_compile,
    )
    return model


def build_compiled(plan, info):
    """The plan's network for a data set with `info`, compiled with its recipe."""
    model = plan.build_model(info.num_classes, info.image_shape)
    return compile_model(
        model,
        plan.recipe,
        plan.steps_per_epoch(info),
        plan.batch_size,
        plan.epochs,
        plan.loss_weights,
        plan.config.xla,
    )


def make_pipelines(model, splits, recipe, batch_size, seed=0, steps_per_epoch=None):
    """Training, validation and test pipelines labelled for the model's outputs; with
    `steps_per_epoch` the training set repeats. The validation pipeline is None when the
    data has no validation split."""
    names = output_names(model)
    info = splits.info

    def evaluation(dataset):
        return data.pipeline(dataset, info, recipe.augmentation, False, batch_size, names)

    train_data = data.pipeline(
        splits.train, info, recipe.augmentation, True, batch_size, names, seed
    )
    if steps_per_epoch:
        train_data = train_data.repeat()
    validation = evaluation(splits.validation) if info.validation_size else None
    return train_data, validation, evaluation(splits.test)

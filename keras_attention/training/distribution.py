"""`tf.distribute` for a run: the strategy by name, which process is the chief, and two
workarounds for Keras 3's trainer under `MultiWorkerMirroredStrategy`."""

import tensorflow as tf

STRATEGY_NAMES = ("none", "mirrored", "multiworker")


def make_strategy(name):
    """The strategy called `name`: `none` (the default strategy), `mirrored` (every GPU, else
    every logical CPU) or `multiworker` (reads `TF_CONFIG`)."""
    if name == "none":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=devices)
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"Unknown strategy {name!r}; expected one of {', '.join(STRATEGY_NAMES)}.")


def is_multiworker(strategy):
    """Whether `strategy` is a `tf.distribute.MultiWorkerMirroredStrategy`."""
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def is_chief(strategy):
    """Whether this process writes the run's files (the chief, or worker 0 without one)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    return resolver.task_type in ("chief", None) or (
        resolver.task_type == "worker" and resolver.task_id == 0
    )


def worker_id(strategy):
    """This process's task id in the strategy's cluster."""
    return strategy.cluster_resolver.task_id


def build_state(model, batch):
    """Creates the optimizer's and the metrics' variables before `fit`, from `batch`'s shapes,
    as Keras 3's trainer does itself under a strategy other than the default one. Under the
    default strategy it creates them inside the first training step's trace, and a variable
    created in a trace makes `tf.function` trace the step a second time: one more trace of
    the whole network's training step for every run (8 s on EfficientNet-B0)."""
    with model.distribute_strategy.scope():
        model._symbolic_build(data_batch=batch)


def work_around_multiworker(model, batch):
    """Two bugs of Keras 3's TF trainer under MultiWorkerMirroredStrategy
    (keras-team/keras#20585, open):

    - to learn the batch shapes for its symbolic build it reduces the first distributed batch
      across workers, which fails: the build needs only shapes, so give it a local batch;
    - it reduces each step's logs with `strategy.reduce("MEAN", v, axis=0)`, which rejects the
      scalar metric values: give each a length-1 axis, which that reduction averages away.
    """

    def build(iterator=None, data_batch=None):
        build_state(model, batch)

    def with_axis(step):
        def wrapped(data):
            return {name: tf.reshape(value, (1,)) for name, value in step(data).items()}

        return wrapped

    model._maybe_symbolic_build = build
    model.train_step = with_axis(model.train_step)
    model.test_step = with_axis(model.test_step)

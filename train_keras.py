"""Train an attention network with model.fit; with no arguments, a small SE-ResNet on the
bundled handwritten digits (offline, about two minutes on two CPU cores).

    python train_keras.py
    python train_keras.py --model cifar_resnet164 --attention spem --dataset cifar10 \\
        --recipe spem_cifar --output-dir runs/spem164
    python train_keras.py --model cifar_se_resnet50 --aux-positions 2,3 --dataset cifar100 \\
        --recipe se_r_cifar

Each run writes to --output-dir: model.keras, best.keras, model.tflite, history.csv, logs/
(TensorBoard), metrics.json and curves.png. Running the same command again after an
interruption resumes from the last finished epoch.

    python train_keras.py tune --model cifar_se_resnet18 --fix attention=se \
        --fix aux_positions=2,3 --tuner bayesian --max-trials 20 --epochs 10

searches hyperparameters with Keras Tuner (see `train_keras.py tune --help`).

    python train_keras.py export RUN_DIR

exports a run to .keras, SavedModel and TFLite (float32, float16, dynamic-range int8,
full-integer int8 calibrated on the run's own data pipeline) in RUN_DIR/export, checks each
against the Keras model and reports size, largest difference, ops and test accuracy.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _numbers(kind):
    def parse(text):
        return tuple(kind(v) for v in text.split(",") if v.strip())

    return parse


def parser():
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--model",
        default="cifar_resnet20",
        help="e.g. cifar_resnet20, cifar_resnet164, "
        "preact_resnet164, cifar_se_resnet50, resnet50, mobilenet_v2 (default %(default)s)",
    )
    p.add_argument(
        "--attention",
        default="se",
        help="se, ssa, spem, cbam, eca, srm, sge, coord or none (default %(default)s)",
    )
    p.add_argument(
        "--dataset",
        default="digits",
        help="digits, cifar10, cifar100, imagenette, "
        "imagenet2012 or dir:PATH (default %(default)s)",
    )
    p.add_argument(
        "--recipe",
        default="digits",
        help="digits, mobilenet_v2, se_r_cifar, "
        "spem_cifar, ssa_cifar, resnet_imagenet (default %(default)s)",
    )
    p.add_argument("--epochs", type=int, help="default: the recipe's")
    p.add_argument(
        "--batch-size", type=int, help="default: the recipe's (the learning rate scales with it)"
    )
    p.add_argument("--image-size", type=int, help="default: the data set's (digits: 32)")
    p.add_argument("--output-dir", default="runs/digits")
    p.add_argument("--mixed-precision", action="store_true", help="mixed_float16 policy")
    p.add_argument("--xla", action="store_true", help="compile train steps with XLA")
    p.add_argument(
        "--strategy",
        default="none",
        choices=["none", "mirrored", "multiworker"],
        help="tf.distribute strategy; multiworker reads TF_CONFIG",
    )
    p.add_argument(
        "--logical-cpus",
        type=int,
        default=0,
        help="split the CPU into N logical devices (to try --strategy mirrored on one machine)",
    )
    p.add_argument("--reduction", type=int, help="reduction ratio of SE-style blocks")
    p.add_argument(
        "--aux-positions",
        type=_numbers(int),
        default=(),
        help="cifar_se_resnet: stages followed by an auxiliary classifier, e.g. 2,3 (SE-R)",
    )
    p.add_argument(
        "--no-feed-attention", action="store_true", help="SE-A: aux heads do not feed the SE blocks"
    )
    p.add_argument(
        "--aux-loss-weights",
        type=_numbers(float),
        help="e.g. 0.3,0.3 (default: the paper's for the depth)",
    )
    p.add_argument("--steps-per-epoch", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", help="tensorflow-datasets data directory")
    p.add_argument("--manual-dir", help="manual download directory (imagenet2012)")
    p.add_argument("--verbose", type=int, default=1, help="Keras fit verbosity (1: progress bar)")
    return p


def export_main(argv):
    p = argparse.ArgumentParser(prog="train_keras.py export", description="Export a run.")
    p.add_argument("run_dir")
    p.add_argument(
        "--modes",
        default="float32,float16,dynamic_int8,full_int8",
        help="TFLite modes, comma separated (default: %(default)s)",
    )
    args = p.parse_args(argv)
    from keras_attention.export import export_run

    result = export_run(args.run_dir, tuple(args.modes.split(",")))
    for report in result["reports"]:
        accuracy = result["test_accuracy"].get(report["format"])
        accuracy = f"  test accuracy {accuracy:.4f}" if accuracy is not None else ""
        print(
            f"{report['format']:<20} {report['size_bytes'] / 1e6:7.2f} MB  max |diff| "
            f"{report['max_abs_diff']:.3g}{accuracy}  {report['path']}"
        )
    print(f"Keras model test accuracy {result['test_accuracy']['keras']:.4f}")
    return result


def _value(text):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _assignment(text):
    name, _, value = text.partition("=")
    if not name or not value:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def tune_main(argv):
    p = argparse.ArgumentParser(
        prog="train_keras.py tune",
        description="Search hyperparameters with Keras Tuner on the pipelines and recipes of "
        "training. Hyperparameters: attention, reduction, aux_positions, aux1_weight, "
        "aux2_weight, aux_dropout, spem_alpha, learning_rate.",
    )
    p.add_argument("--tuner", default="random", choices=["random", "bayesian", "hyperband", "grid"])
    p.add_argument("--max-trials", type=int, default=10)
    p.add_argument(
        "--objective", help="default: val_main_accuracy with aux heads, else val_accuracy"
    )
    p.add_argument("--model", default="cifar_se_resnet18")
    p.add_argument("--dataset", default="digits")
    p.add_argument("--recipe", default="digits")
    p.add_argument("--epochs", type=int, default=5, help="per trial (default %(default)s)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--image-size", type=int)
    p.add_argument("--steps-per-epoch", type=int)
    p.add_argument("--output-dir", default="runs/tune")
    p.add_argument(
        "--fix",
        type=_assignment,
        action="append",
        default=[],
        help="NAME=VALUE: hold a hyperparameter fixed, e.g. attention=se",
    )
    p.add_argument(
        "--choices",
        type=_assignment,
        action="append",
        default=[],
        help="NAME=A/B/C: search these values, e.g. aux_positions=2/2,3",
    )
    p.add_argument(
        "--range",
        type=_assignment,
        action="append",
        default=[],
        help="NAME=MIN:MAX[:STEP]: narrow a numeric range, e.g. aux1_weight=0.2:0.5:0.1",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--verbose", type=int, default=1)
    args = p.parse_args(argv)
    from keras_attention import tuning

    ranges = {
        name: ("choice", {"values": [_value(v) for v in value.split("/")]})
        for name, value in args.choices
    }
    for name, value in args.range:
        bounds = [float(v) for v in value.split(":")]
        spec = {"min_value": bounds[0], "max_value": bounds[1]}
        if len(bounds) > 2:
            spec["step"] = bounds[2]
        ranges[name] = ("float", spec)
    hypermodel = tuning.AttentionHyperModel(
        args.model,
        dataset=args.dataset,
        recipe=args.recipe,
        epochs=args.epochs,
        batch_size=args.batch_size,
        image_size=args.image_size,
        fixed={name: _value(value) for name, value in args.fix},
        ranges=ranges,
        steps_per_epoch=args.steps_per_epoch,
        seed=args.seed,
    )
    tuner, rows, best = tuning.search(
        hypermodel, args.output_dir, args.tuner, args.objective, args.max_trials, args.verbose
    )
    finished = [r for r in rows if r["score"] is not None]
    print(
        f"{len(finished)} trials; best {tuner.oracle.objective.name} "
        f"{max((r['score'] for r in finished), default=float('nan')):.4f} with {best}"
    )
    print(
        f"results in {args.output_dir}: best_hyperparameters.json, trials.csv, trials.md, "
        "scores.png"
    )
    return rows


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "export":
        return export_main(argv[1:])
    if argv and argv[0] == "tune":
        return tune_main(argv[1:])
    args = parser().parse_args(argv)
    import tensorflow as tf

    if args.logical_cpus > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * args.logical_cpus
        )
    from keras_attention.training import TrainConfig, train

    config = TrainConfig(
        model=args.model,
        attention=args.attention,
        dataset=args.dataset,
        recipe=args.recipe,
        epochs=args.epochs,
        batch_size=args.batch_size,
        image_size=args.image_size,
        output_dir=args.output_dir,
        mixed_precision=args.mixed_precision,
        xla=args.xla,
        strategy=args.strategy,
        reduction=args.reduction,
        aux_positions=args.aux_positions,
        feed_attention=not args.no_feed_attention,
        aux_loss_weights=args.aux_loss_weights,
        seed=args.seed,
        data_dir=args.data_dir,
        manual_dir=args.manual_dir,
        steps_per_epoch=args.steps_per_epoch,
        verbose=args.verbose,
    )
    metrics = train(config)
    print(
        f"TFLite float32: {metrics['tflite']['size_bytes'] / 1e6:.2f} MB, max |diff| "
        f"{metrics['tflite']['max_abs_diff']:.2g} against Keras"
    )
    print(
        f"test accuracy {metrics['accuracy']:.4f}, loss {metrics['loss']:.4f}; "
        f"{metrics['parameters']:,} parameters, {metrics['macs'] / 1e6:.1f} M MACs; "
        f"{metrics['images_per_second']:.0f} images/s; {metrics['wall_time_seconds']:.0f} s; "
        f"results in {config.output_dir}"
    )
    return metrics


if __name__ == "__main__":
    sys.exit(0 if main() else 1)

"""`keras-attention export`: a finished run written in every format, checked and scored."""

import os

from keras_attention.catalog import EXPORT_KINDS, TFLITE_MODES  # names only: no backend
from keras_attention.cli.options import (
    PROG,
    Parser,
    UsageError,
    choice_list,
    load_tensorflow,
    non_negative_float,
    positive_int,
)


def export_parser():
    """The argument parser of `keras-attention export`: the deployable export of a finished run."""
    p = Parser(
        prog=f"{PROG} export",
        description="Export a finished run to RUN_DIR/export: model.keras, a SavedModel, "
        "TFLite models and model.onnx that take raw images (the run's resizing and "
        "normalisation inside), labels.txt and export.json; each format is checked against "
        "the Keras model and scored on the run's test set.",
    )
    p.add_argument("run_dir", help="the --output-dir of a finished training run")
    p.add_argument(
        "--formats",
        type=choice_list(EXPORT_KINDS, "format(s)"),
        default=EXPORT_KINDS,
        help=f"formats, comma separated (default: {','.join(EXPORT_KINDS)}; model.keras is "
        "always written)",
    )
    p.add_argument(
        "--modes",
        type=choice_list(TFLITE_MODES, "TFLite mode(s)"),
        default=TFLITE_MODES,
        help=f"TFLite modes, comma separated (default: {','.join(TFLITE_MODES)})",
    )
    p.add_argument(
        "--tolerance",
        type=non_negative_float,
        default=2.0,
        metavar="POINTS",
        help="fail when a format's test accuracy is more than this many points below the "
        "Keras model's (default: %(default)s)",
    )
    p.add_argument(
        "--allow-degraded",
        action="store_true",
        help="write a format beyond the tolerance anyway (recorded in export.json)",
    )
    p.add_argument(
        "--report",
        action="store_true",
        help="with full_int8: each layer's and each attention block's int8 error against the "
        "float model (RMSE over the quantization scale), printed and in export.json",
    )
    p.add_argument(
        "--calibration-samples",
        type=positive_int,
        default=200,
        help="training images that calibrate full_int8 (default: %(default)s)",
    )
    p.add_argument("--verbose", action="store_true", help="TensorFlow's start-up logs too")
    return p


def export_command(argv):
    """Runs `keras-attention export` with `argv`, the arguments after the command's name; returns
    the exit status."""
    args = export_parser().parse_args(argv)
    formats, modes = tuple(args.formats), tuple(args.modes)
    if not os.path.isfile(os.path.join(args.run_dir, "model.keras")) or not os.path.isfile(
        os.path.join(args.run_dir, "metrics.json")
    ):
        raise UsageError(
            f"{PROG} export: error: {args.run_dir!r} holds no finished run (model.keras and "
            "metrics.json); give the --output-dir of a completed training run"
        )
    load_tensorflow("export", args.verbose)
    from keras_attention.export.run_export import export_run

    result = export_run(
        args.run_dir,
        modes,
        args.calibration_samples,
        log=print,
        formats=formats,
        tolerance=args.tolerance,
        allow_degraded=args.allow_degraded,
        report=args.report,
    )
    for report in result["reports"]:
        accuracy = result["test_accuracy"].get(report["format"])
        accuracy = f"  test accuracy {accuracy:.4f}" if accuracy is not None else ""
        print(
            f"{report['format']:<20} {report['size_bytes'] / 1e6:7.2f} MB  max |diff| "
            f"{report['max_abs_diff']:.3g}{accuracy}  {report['path']}"
        )
    print(f"Keras model test accuracy {result['test_accuracy']['keras']:.4f}")
    quantization = result.get("quantization")
    if quantization:
        print(
            "full_int8 error per attention block (RMSE over the quantization scale, worst op, "
            f"{quantization['images']} calibration images):"
        )
        for name, value in sorted(quantization["blocks"].items(), key=lambda item: -item[1]):
            print(f"  {name:<32} {value:8.3f}")
        print("worst layers:")
        for row in quantization["layers"][:5]:
            print(f"  {str(row['layer']):<32} {row['op']:<16} {row['rmse_over_scale']:8.3f}")
    elif args.report:
        print("--report: no full_int8 model in this export (--modes ...,full_int8)")
    for name, found in result["degraded"].items():
        print(
            f"written with --allow-degraded: {name} {found['points']:+.1f} points below the "
            f"Keras model (tolerance {result['tolerance_points']:g})"
        )
    print(f"labels: {result['labels_path']}; report: {result['report_path']}")
    return 0

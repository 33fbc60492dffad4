"""`keras-attention reproduce`: the rows of a paper's table built (`--dry-run`) or trained, beside
the paper's figures.
"""

import os

from keras_attention.cli.options import (
    PROG,
    Parser,
    UsageError,
    as_option,
    load_tensorflow,
    number_list_type,
    overrides_of,
    quick_run_options,
)


def reproduce_parser():
    """The argument parser of `keras-attention reproduce`: the rows of a paper's table, trained or
    counted beside the paper's figures."""
    from keras_attention.training import papers

    p = Parser(
        prog=f"{PROG} reproduce",
        description="Train every row of one of the papers' tables with its recipe and print our "
        "parameters, MACs and accuracy beside the paper's; --dry-run only builds and counts "
        "the rows. Running the same command again keeps finished runs.",
    )
    p.add_argument("table", nargs="?", help=f"one of {', '.join(papers.names())}")
    p.add_argument("--list", action="store_true", help="list the tables and their rows")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="build every row and print parameters and MACs against the paper's; no training",
    )
    p.add_argument(
        "--rows", type=number_list_type(str, "row names"), help="only these rows (see --list)"
    )
    p.add_argument(
        "--dataset", help="train on this data set instead of the rows' (e.g. digits, offline)"
    )
    p.add_argument(
        "--output-dir", help="default runs/reproduce/TABLE, or runs/reproduce/TABLE-DATASET"
    )
    quick_run_options(p)
    return p


def reproduce_command(argv, out=print):
    """Runs `keras-attention reproduce` with `argv`, the arguments after the command's name (its
    report through `out`); returns the exit status."""
    from keras_attention import catalog
    from keras_attention.training import papers

    args = reproduce_parser().parse_args(argv)
    if args.list:
        for table in papers.TABLES.values():
            out(f"{table.name:<13} {table.title}")
            out(f"{'':<13} rows: {', '.join(row.name for row in table.rows)}")
        return 0
    if not args.table:
        raise UsageError(
            f"{PROG} reproduce: error: name a table ({', '.join(papers.names())}) or give --list"
        )
    try:
        table = papers.table(args.table)
        papers.select_rows(table, args.rows)
        if args.dataset:
            catalog.check_dataset(args.dataset)
    except ValueError as error:
        raise UsageError(f"{PROG} reproduce: error: {as_option(error)}") from error
    if not args.output_dir:
        name = table.name  # runs/reproduce/spem_table1, or .../spem_table1-digits
        if args.dataset:
            name += "-" + os.path.basename(os.path.normpath(args.dataset.removeprefix("dir:")))
        args.output_dir = os.path.join("runs", "reproduce", name)
    if args.dry_run:
        if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
            load_tensorflow("reproduce", args.verbose)
        return _print_dry_run(table, papers.dry_run_rows(table.name, args.rows), out)
    load_tensorflow("reproduce", args.verbose)
    from keras_attention.errors import ConfigError
    from keras_attention.training import comparison

    try:
        results = comparison.reproduce_table(
            table.name,
            rows=args.rows,
            seeds=tuple(range(args.seeds)),
            output_dir=args.output_dir,
            progress=args.progress,
            dataset=args.dataset,
            **overrides_of(args),
        )
    except ConfigError as error:
        raise UsageError(f"{PROG} reproduce: error: {as_option(error)}") from error
    out(f"{table.title}")
    out(comparison.markdown(comparison.table_rows(results)))
    out(f"results in {args.output_dir}: results.md, results.csv, results.json, results.png")
    return 0


def _print_dry_run(table, results, out):
    out(f"{table.title} (built, not trained)")
    header = ("row", "parameters", "paper (M)", "exact target", "MACs (G)", "paper (G)", "acc. %")
    out("{:<32} {:>12} {:>9} {:>16} {:>9} {:>9} {:>7}".format(*header))
    done = []
    for result in results:  # printed as each row is built
        done.append(result)
        row = result["row"]
        exact = "" if row.exact_params is None else f"{row.exact_params:,}"
        if result["exact_match"] is not None:
            exact += " ok" if result["exact_match"] else " DIFFERS"
        out(
            "{:<32} {:>12,} {:>9} {:>16} {:>9.3f} {:>9} {:>7}".format(
                row.name,
                result["parameters"],
                "" if row.paper_params is None else f"{row.paper_params:g}",
                exact,
                result["macs"] / 1e9,
                "" if row.paper_macs is None else f"{row.paper_macs:g}",
                "" if row.paper_accuracy is None else f"{row.paper_accuracy:.2f}",
            )
        )
    notes = sorted({r["row"].note for r in done if r["row"].note})
    for note in notes:
        out(f"note: {note}")
    differs = [r["row"].name for r in done if r["exact_match"] is False]
    return 1 if differs else 0

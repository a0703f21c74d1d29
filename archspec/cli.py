"""The command line: a thin layer over the Python API. Exit codes: 0 ok, 1 spec error, 2 usage error, 3 bug.

Each subcommand parses its arguments, calls the API and prints; no logic of its own lives here.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from archspec import __version__
from archspec.arguments import load_from_args, parse_assignment
from archspec.dtypes import ACTIVATION_DTYPES
from archspec.errors import SpecError, UsageError, printable, truncate
from archspec.terminal import escape_controls, escaping_output, write_styled

EXIT_OK, EXIT_SPEC, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
BUG_HINT = (
    "this is a bug in archspec, not in your spec: please report it with the command and the spec; "
    "ARCHSPEC_DEBUG=1 shows the traceback"
)


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError (exit 2 with our format) instead of exiting by itself."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}\n(see `{self.prog} --help`)")


def positive_int(text: str) -> int:
    """An argparse type: a positive integer (``--batch``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _add_spec_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--variant", "-v", help="variant of the network family (default: the name given, or the first)"
    )
    parser.add_argument(
        "--set",
        dest="assignments",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a network parameter, e.g. --set alpha=0.75 (repeatable)",
    )
    parser.add_argument("--input", dest="input_shape", metavar="CxHxW", help="override the input shape")
    _add_import_options(parser)


def _add_import_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--path",
        dest="search_path",
        action="append",
        default=[],
        metavar="DIR",
        help="a folder imports may read and are searched in, besides the spec's own (repeatable)",
    )
    parser.add_argument(
        "--allow-absolute-imports",
        action="store_true",
        help="let specs import files by absolute path (off: a spec reads only its folder and --path)",
    )


# ---------------------------------------------------------------- subcommands


def cmd_list(args: argparse.Namespace) -> int:
    """Every network and variant, with year and paper; a folder of specs, or a filter on the zoo's names."""
    from archspec.catalog import matches, scan
    from archspec.yaml_form import SPEC_SUFFIXES

    target, pattern = args.directory, None
    if target and not Path(target).is_dir():
        if "/" in target or target.startswith(".") or target.endswith(SPEC_SUFFIXES):
            raise UsageError(f"no such folder: {target}")
        target, pattern = None, args.directory
    rows, problems = scan(Path(target) if target else None)
    for problem in problems:
        print(problem.render(), file=sys.stderr)
    if pattern is not None:
        rows = [row for row in rows if matches(row, pattern)]
        if not rows:
            raise UsageError(f"no folder and no network or variant of the zoo called {pattern!r}")
    if args.format == "json":
        print(json.dumps([row.as_dict() for row in rows], indent=2))
        return EXIT_SPEC if problems else EXIT_OK
    for row in rows:
        year = str(row.year) if row.year else "    "
        print(f"{row.network:<14} {year}  {', '.join(row.variants)}")
        if row.title:
            print(f"{'':<20}{row.title}" + (f" <{row.paper}>" if row.paper else ""))
    return EXIT_SPEC if problems else EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    """Parse, lower and shape-check every variant of each spec; report every error and warning."""
    from archspec.checks import check_specs

    result = check_specs(
        args.specs,
        only_variant=args.variant,
        search_path=[Path(folder) for folder in args.search_path],
        allow_absolute_imports=args.allow_absolute_imports,
    )
    for error in [*result.errors, *result.warnings]:
        print(error.render(), file=sys.stderr)
    failed = bool(result.errors) or (args.strict and bool(result.warnings))
    if not failed and not args.quiet:
        warned = f" ({len(result.warnings)} warning(s))" if result.warnings else ""
        print(f"ok: {len(args.specs)} spec(s) valid{warned}")
        for library in result.libraries:  # say what was not checked: a block's shapes need a call
            print(
                f"  {library}: a library of blocks (no network): checked statically (syntax, names, "
                "references, arguments), not its shapes, which need a network that uses the blocks"
            )
    return EXIT_SPEC if failed else EXIT_OK


def cmd_analyze(args: argparse.Namespace) -> int:
    """Per-layer shapes, parameters, MACs, memory and receptive field."""
    from archspec.report import render_analysis

    network = load_from_args(args.spec, args)
    analysis = network.analyze(dtype=args.dtype, count=args.count, batch=args.batch)
    to_file = args.output is not None and args.output != "-"
    text = render_analysis(
        analysis, args.format, depth=args.depth, comments=args.comments, terminal=not to_file
    )
    if to_file:
        from archspec.files import write_atomically

        write_atomically(Path(args.output), escape_controls(text))
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        _print_report(text, args.format)
    return EXIT_OK


def _print_report(text: str, fmt: str) -> None:
    """A table keeps its colour codes (its spec text is escaped already); other formats go through the
    escaping stream."""
    if fmt == "table":
        write_styled(text)
    else:
        print(text, end="")


COMPARE_COLUMNS = (
    "network",
    "input",
    "params",
    "macs",
    "flops",
    "depth",
    "receptive_field",
    "spatial_receptive_field",
    "peak_activation_bytes",
)
HISTORY_COLUMNS = (
    "year",
    "network",
    "depth",
    "params",
    "macs",
    "spatial_receptive_field",  # the whole field is global after a gate fed by global pooling
    "reported_paper",
    "reported_torchvision",
)


def cmd_compare(args: argparse.Namespace) -> int:
    """Networks side by side: params, MACs, FLOPs, depth, receptive field, peak memory."""
    from archspec.api import variants_of
    from archspec.report import render_summary, summary_row

    specs: list[tuple[str, str | None]] = []
    for spec in args.specs:  # a family name (`resnet`) stands for every variant
        variants = variants_of(spec)
        family = len(variants) > 1 and args.variant is None and spec not in variants
        specs += [(spec, v) for v in variants] if family else [(spec, None)]
    rows = [summary_row(_load_variant(spec, variant, args).analyze()) for spec, variant in specs]
    title = (
        "MACs: torchvision convention; FLOPs = 2 × MACs; "
        "depth = conv/linear/attention layers on the longest path"
    )
    _print_report(render_summary(rows, COMPARE_COLUMNS, args.format, title, args.comments), args.format)
    return EXIT_OK


def _load_variant(spec: str, variant: str | None, args: argparse.Namespace) -> Any:
    if variant is None:
        return load_from_args(spec, args)
    return load_from_args(spec, argparse.Namespace(**{**vars(args), "variant": variant}))


def cmd_history(args: argparse.Namespace) -> int:
    """The whole zoo in year order."""
    from archspec.api import load
    from archspec.catalog import catalog
    from archspec.report import render_summary, summary_row

    entries = catalog()
    if args.all_variants:
        rows = [summary_row(load(e.path, v).analyze()) for e in entries for v in e.variants]
        which = "every variant"
    else:
        rows = [summary_row(load(entry.path).analyze()) for entry in entries]
        which = "default variant of each network"
    title = (
        f"The zoo by year ({which}; MACs: torchvision convention; receptive field of the spatial path: "
        "the global inputs of squeeze-and-excitation gates and global pooling left out)"
    )
    _print_report(render_summary(rows, HISTORY_COLUMNS, args.format, title, args.comments), args.format)
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    """How one layer's or block's figures were computed."""
    from archspec.analysis.explain import explain
    from archspec.errors import did_you_mean

    analysis = load_from_args(args.spec, args).analyze()
    try:
        print(explain(analysis, args.layer), end="")
    except KeyError:
        hint = did_you_mean(args.layer, [row.name for row in analysis.rows])
        raise UsageError(f"no layer or block named {args.layer!r}" + (f"; {hint}" if hint else "")) from None
    return EXIT_OK


def cmd_ir(args: argparse.Namespace) -> int:
    """The IR graph as JSON."""
    network = load_from_args(args.spec, args)
    print(network.graph.to_json())
    return EXIT_OK


def cmd_compile(args: argparse.Namespace) -> int:
    """Standalone PyTorch source of a network, to stdout or written atomically to -o."""
    from archspec.division import division_warnings

    network = load_from_args(args.spec, args)
    for warning in division_warnings(network.program):  # the file would hard-code such a value
        print(warning.render(network.program.sources), file=sys.stderr)
    source = network.to_source()
    if args.output is None or args.output == "-":
        print(source, end="")
        return EXIT_OK
    from archspec.files import write_atomically

    write_atomically(Path(args.output), source)
    print(f"wrote {args.output}", file=sys.stderr)
    return EXIT_OK


def cmd_draw(args: argparse.Namespace) -> int:
    """Draw a network with Graphviz to -o FILE (default NAME.svg); the format from the extension."""
    from archspec.backends.diagram import parse_depth

    network = load_from_args(args.spec, args)
    path = network.draw(
        args.output,
        style=args.style,
        depth=parse_depth(args.depth),
        expand=tuple(args.expand),
        figures=args.figures,
        rankdir=args.rankdir,
        dpi=args.dpi,
    )
    print(f"wrote {path}", file=sys.stderr)
    return EXIT_OK


def _add_draw_parser(sub: Any) -> None:
    p = sub.add_parser(
        "draw",
        help="draw a network with Graphviz (SVG, PNG, PDF or DOT source)",
        epilog="example: archspec draw resnet50 --depth 2 -o resnet50.png",
    )
    p.add_argument(
        "spec", metavar="SPEC_OR_NAME", help="a .arch/.yaml file, or a network or variant of the zoo"
    )
    _add_spec_options(p)
    p.add_argument(
        "--output", "-o", metavar="FILE", help=".svg, .png, .pdf or .dot (default: NAME.svg in this folder)"
    )
    p.add_argument(
        "--style",
        choices=["blocks", "maps"],
        default="blocks",
        help="blocks: the design as a graph (default); maps: each layer's output as a box sized by its shape",
    )
    p.add_argument(
        "--depth",
        default="1",
        metavar="N|all",
        help="blocks nested N deep are drawn as one box each (default 1); all: every op",
    )
    p.add_argument(
        "--expand",
        action="append",
        default=[],
        metavar="NAME",
        help="open this block or stage (or every instance of a block definition) whatever the depth; "
        "repeatable",
    )
    p.add_argument(
        "--no-figures", dest="figures", action="store_false", help="leave params and MACs out of the nodes"
    )
    p.add_argument(
        "--dpi",
        type=int,
        metavar="N",
        help="resolution of a .png (default 192; 300 for print); .svg and .pdf scale without it",
    )
    p.add_argument(
        "--rankdir", choices=["TB", "LR"], default="TB", help="top to bottom (default) or left to right"
    )
    p.set_defaults(handler=cmd_draw)


def cmd_report(args: argparse.Namespace) -> int:
    """The static HTML report site of the named specs (the whole zoo when none)."""
    from archspec.site.build import build_site

    index = build_site(
        args.specs,
        Path(args.output),
        log=lambda name: print(f"  {name}", file=sys.stderr),
        results=Path(args.results),
    )
    print(f"wrote the site to {args.output}; open {index.resolve().as_uri()}")
    return EXIT_OK


def _add_report_parser(sub: Any) -> None:
    from archspec.site import DEFAULT_OUTPUT, DEFAULT_RESULTS  # light: the site's code loads when building

    p = sub.add_parser(
        "report",
        help="a static HTML site: the networks, a page per network (diagrams, layers, spec, PyTorch)",
        description="Build a static HTML site that opens from the file system (no server, no network): "
        "an index with the networks and charts, and a page per network variant. "
        "A network or file name selects all its variants; a variant name selects one; a folder every "
        "network of its spec files (.arch, .yaml, .yml). The zoo's site tells its history and has the "
        "essay's claims page; "
        "a site of your own specs speaks of your networks only.",
        epilog="examples: archspec report lenet5 resnet -o out/site; archspec report specs/ -o out/mine",
    )
    p.add_argument(
        "specs",
        nargs="*",
        metavar="SPEC",
        help="networks, variants, spec files (.arch, .yaml) or folders of them (default: the zoo)",
    )
    p.add_argument(
        "--output",
        "-o",
        metavar="DIR",
        default=str(DEFAULT_OUTPUT),
        help=f"folder of the site (default: {DEFAULT_OUTPUT}); replaced only if archspec wrote it",
    )
    p.add_argument(
        "--results",
        metavar="DIR",
        default=str(DEFAULT_RESULTS),
        help="results of `archspec experiment` for the claims page: one that finished later than a claim's "
        f"committed record (experiments/NAME/result.json) replaces it (default: {DEFAULT_RESULTS})",
    )
    p.set_defaults(handler=cmd_report)


def cmd_schema(args: argparse.Namespace) -> int:
    """The IR's JSON Schema, or with --analysis the analysis report's, or with --yaml the YAML form's."""
    if args.analysis and args.yaml:
        raise UsageError("--analysis and --yaml ask for different schemas: give one")
    if args.yaml:
        from archspec.yaml_form.schema import yaml_schema

        print(json.dumps(yaml_schema(), indent=2))
        return EXIT_OK
    if args.analysis:
        from archspec.analysis_schema import analysis_schema
        from archspec.report import SCHEMA_VERSION

        print(json.dumps(analysis_schema(SCHEMA_VERSION), indent=2))
        return EXIT_OK
    from archspec.ir import json_schema

    print(json.dumps(json_schema(), indent=2))
    return EXIT_OK


def cmd_convert(args: argparse.Namespace) -> int:
    """A spec in the other form (text or YAML), to stdout or written atomically to -o."""
    from archspec.yaml_form.convert import convert

    converted = convert(Path(args.spec), args.to)
    if args.output is None or args.output == "-":
        print(converted, end="")
        return EXIT_OK
    from archspec.files import write_atomically

    write_atomically(Path(args.output), converted)
    print(f"wrote {args.output}", file=sys.stderr)
    return EXIT_OK


def cmd_train(args: argparse.Namespace) -> int:
    """Train a spec's network (archspec.train.loop), or resume a run."""
    from archspec.train.commands import train

    return train(args)


def cmd_eval(args: argparse.Namespace) -> int:
    """Loss and accuracy of a checkpoint on a data set."""
    from archspec.train.commands import evaluate

    return evaluate(args)


def cmd_predict(args: argparse.Namespace) -> int:
    """The top-k classes a checkpoint gives images."""
    from archspec.train.commands import predict

    return predict(args)


def cmd_experiment(args: argparse.Namespace) -> int:
    """The essay's claims as experiments."""
    from archspec.experiments.commands import experiment

    return experiment(args)


def _add_experiment_parser(sub: Any) -> None:
    from archspec.experiments.commands import add_experiment_parser

    add_experiment_parser(sub).set_defaults(handler=cmd_experiment)


def _add_train_parsers(sub: Any) -> None:
    from archspec.train.commands import add_eval_parser, add_predict_parser, add_train_parser

    add_train_parser(sub, _add_spec_options).set_defaults(handler=cmd_train)
    add_eval_parser(sub).set_defaults(handler=cmd_eval)
    add_predict_parser(sub).set_defaults(handler=cmd_predict)


# ---------------------------------------------------------------- sweep (design spaces; archspec/sweeps.py)


def cmd_sweep(args: argparse.Namespace) -> int:
    """Every combination (or a sample) of --vary values, analysed, filtered and its Pareto front marked."""
    from archspec.report import output_width
    from archspec.sweep_output import render_sweep
    from archspec.sweeps import parse_axes, sweep

    if args.seed is not None and args.sample is None:  # a whole grid draws nothing: the seed would be ignored
        raise UsageError("--seed chooses the combinations of --sample N; give --sample too")
    axes = parse_axes(args.vary)
    result = sweep(
        args.spec,
        axes,
        variant=args.variant,
        where=args.where,
        objectives=args.objectives,
        sample=args.sample,
        seed=args.seed or 0,
        jobs=args.jobs,
        params=dict(parse_assignment(text) for text in args.assignments),
    )
    if args.plot is not None:
        from archspec.sweep_plot import plot_sweep

        plot_sweep(result, Path(args.plot))
        print(f"wrote {args.plot}", file=sys.stderr)
    print(render_sweep(result, args.format, width=output_width()), end="")
    return EXIT_OK


def _add_sweep_parser(sub: Any) -> None:
    p = sub.add_parser(
        "sweep",
        help="analyse every combination of parameter values; filter; mark the Pareto front",
        description="Analyse every combination (or --sample N) of --vary values statically (no torch), "
        "keep those satisfying --where, mark the Pareto front of --objectives. A combination that does "
        "not build is a row with its error.",
        epilog="example: archspec sweep mobilenet_v1 --vary alpha=1.0,0.75,0.5,0.25 "
        "--vary resolution=224:128:-32 --where 'alpha == 1.0 or resolution == 224'",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("spec", metavar="SPEC", help="a .arch/.yaml file or a zoo name")
    p.add_argument(
        "--vary",
        action="append",
        default=[],
        metavar="NAME=VALUES",
        help="a parameter's values: V1,V2,... (spec expressions) or START:STOP:STEP (STOP included); "
        "repeatable, one axis each",
    )
    p.add_argument("--variant", "-v", help="variant of the network family (default: the name given)")
    p.add_argument(
        "--set",
        dest="assignments",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="fix another parameter for every combination (repeatable)",
    )
    p.add_argument(
        "--where",
        metavar="EXPR",
        help="keep rows satisfying a spec expression over params, macs, flops, activation_bytes, "
        "peak_activation_bytes, training_bytes, rf, depth and the swept names, e.g. 'macs <= 600e6'",
    )
    p.add_argument(
        "--objectives",
        default="macs,params",
        metavar="A,B",
        help="figures the Pareto front minimises (NAME:max maximises; default: macs,params)",
    )
    p.add_argument("--sample", type=positive_int, metavar="N", help="N random combinations, not all")
    p.add_argument("--seed", type=int, help="seed of --sample (default: 0)")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table", help="output format")
    p.add_argument(
        "--plot", metavar="FILE", help="plot the first two objectives and the front (.png/.svg/.pdf)"
    )
    p.add_argument("--jobs", "-j", type=positive_int, default=1, help="processes to analyse in (default: 1)")
    p.set_defaults(handler=cmd_sweep)


# ---------------------------------------------------------------- export (ONNX, pt2; archspec/export.py)


def cmd_export(args: argparse.Namespace) -> int:
    """Write a network as ONNX or pt2, run the file and print its largest difference from the module."""
    from archspec.export import export_network, parse_batch

    batch = parse_batch(args.batch)
    network = load_from_args(args.spec, args)
    result = export_network(
        network, args.output, args.format, weights=args.weights, seed=args.seed, batch=batch
    )
    checker = "onnxruntime" if result.format == "onnx" else "torch.export.load"
    print(
        f"wrote {result.path} ({result.format}, batch {batch or 'dynamic'}); checked with {checker}: "
        f"largest difference {result.max_difference:.3g} (output scale {result.output_scale:.3g})",
        file=sys.stderr,
    )
    return EXIT_OK


def _add_export_parser(sub: Any) -> None:
    text = "write a network as ONNX or a torch.export program (pt2), checked by running the file"
    p = sub.add_parser(
        "export",
        help=text,
        description=text,
        epilog="example: archspec export resnet18 --format onnx -o resnet18.onnx --weights resnet18.pth",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("spec", metavar="SPEC", help="a .arch/.yaml file or a zoo network/variant name")
    _add_spec_options(p)
    p.add_argument("--format", "-f", choices=["onnx", "pt2"], required=True, help="onnx (opset 17) or pt2")
    p.add_argument(
        "--output", "-o", metavar="FILE", required=True, help="the file to write (atomically, once checked)"
    )
    p.add_argument(
        "--weights",
        metavar="FILE",
        help="a state_dict file (torchvision's format) or an archspec checkpoint, loaded strictly "
        "(default: a fresh initialisation with --seed)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the weights and the check input (default: 0)")
    p.add_argument(
        "--batch",
        default="dynamic",
        metavar="dynamic|N",
        help="batch axis: dynamic (default) or fixed",
    )
    p.set_defaults(handler=cmd_export)


class _OneCommand:
    """The subparsers of a parser built for one command. argparse builds each subcommand's parser in
    full (the largest part of the command line's start, measured in docs/benchmarks.md), and a command
    needs its own alone: every other gets a stand-in that takes what is added to it and keeps nothing."""

    def __init__(self, subparsers: Any, name: str) -> None:
        self.subparsers = subparsers
        self.name = name

    def add_parser(self, name: str, **options: Any) -> Any:
        """The command's parser, or a stand-in for any other command."""
        return self.subparsers.add_parser(name, **options) if name == self.name else _Ignored()

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.subparsers, attribute)


class _Ignored:
    """A parser (or an argument group) that takes every call and keeps nothing (see ``_OneCommand``)."""

    def __getattr__(self, attribute: str) -> Callable[..., _Ignored]:
        return lambda *args, **options: self


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree of every subcommand (also used to document --help in the README)."""
    return _build_parser(None)[0]


def _parser_for(argv: Sequence[str]) -> argparse.ArgumentParser:
    """The parser that reads ``argv``: when its first word is a command, that command's alone (the same
    parser, usage and messages as in the whole tree); otherwise (an option first, ``--help``, no command,
    a word that names none) the whole tree, which lists the commands."""
    if argv and not argv[0].startswith("-"):
        parser, commands = _build_parser(argv[0])
        if argv[0] in commands:
            return parser
    return _build_parser(None)[0]


def _build_parser(only: str | None) -> tuple[argparse.ArgumentParser, Mapping[str, object]]:
    """The argparse tree of every subcommand, or of the subcommand ``only`` (see ``_OneCommand``), and
    the commands it has."""

    def wanted(*names: str) -> bool:
        return only is None or only in names

    parser = _Parser(
        prog="archspec",
        description="A declarative architecture-spec compiler for vision networks.",
        epilog="SPEC is a .arch (or .yaml/.yml) spec file or a network/variant name from the bundled zoo "
        "(see `archspec list`).",
    )
    parser.add_argument("--version", action="version", version=f"archspec {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback of an internal error (exit 3) instead of one line (also ARCHSPEC_DEBUG=1)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub: Any = subparsers if only is None else _OneCommand(subparsers, only)

    formats = ["table", "markdown", "json", "csv"]
    format_help = "output format (default: table, fitted to the terminal)"
    comments_help = "with --format csv: the header lines as '#' comment lines (plain CSV readers skip none)"

    def command(name: str, help: str, example: str) -> argparse.ArgumentParser:
        made: argparse.ArgumentParser = sub.add_parser(
            name, help=help, description=help, epilog=f"example: {example}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )  # fmt: skip
        return made

    p = command("list", "list networks and variants with year and paper", "archspec list resnet")
    p.add_argument(
        "directory",
        nargs="?",
        metavar="DIR_OR_NAME",
        help="a folder of spec files (.arch, .yaml, .yml), or a filter on the zoo's network and variant "
        "names (default: the zoo)",
    )
    p.add_argument("--format", choices=["text", "json"], default="text", help="output format (default: text)")
    p.set_defaults(handler=cmd_list)

    p = command(
        "check",
        "validate specs (every variant, every block); errors and warnings as path:line:col",
        "archspec check specs/*.arch",
    )
    p.add_argument(
        "specs", nargs="+", metavar="SPEC", help="a .arch/.yaml file or a zoo name (several allowed)"
    )
    p.add_argument("--variant", "-v", help="check only this variant")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing when valid")
    _add_import_options(p)
    p.add_argument("--strict", action="store_true", help="fail (exit 1) on warnings too")
    p.set_defaults(handler=cmd_check)

    p = command(
        "analyze",
        "per-layer shapes, parameters, MACs/FLOPs, memory, receptive field",
        "archspec analyze resnet50 --depth 2 --batch 32 --dtype bfloat16",
    )
    p.add_argument("spec", metavar="SPEC", help="a .arch/.yaml file or a zoo network/variant name")
    _add_spec_options(p)
    p.add_argument("--format", "-f", choices=formats, default="table", help=format_help)
    p.add_argument("--comments", action="store_true", help=comments_help)
    p.add_argument("--depth", "-d", type=int, default=None, help="show rows down to this nesting depth")
    p.add_argument(
        "--dtype",
        choices=ACTIVATION_DTYPES,
        default="float32",
        help="activation dtype for memory figures (default: float32)",
    )
    p.add_argument(
        "--count",
        choices=["torchvision", "all"],
        default="torchvision",
        help="torchvision: MACs of conv/linear/matmul only (default); all: also bias, norms, activations, "
        "pooling, adds, softmax",
    )
    p.add_argument("--batch", type=positive_int, default=1, help="batch size for memory figures (default: 1)")
    p.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help="write to FILE (atomically) instead of stdout (- is stdout); a table as a pipe gets it "
        "(no colour, the full width)",
    )
    p.set_defaults(handler=cmd_analyze)

    p = command(
        "compare",
        "networks side by side: params, MACs, FLOPs, depth, RF, peak memory",
        "archspec compare resnet vgg16 --set num_classes=10",
    )
    p.add_argument(
        "specs", nargs="+", metavar="SPEC", help="networks or variants; a family name compares every variant"
    )
    _add_spec_options(p)
    p.add_argument("--format", "-f", choices=formats, default="table", help=format_help)
    p.add_argument("--comments", action="store_true", help=comments_help)
    p.set_defaults(handler=cmd_compare)

    p = command("history", "the whole zoo in year order", "archspec history --all-variants --format markdown")
    p.add_argument("--format", "-f", choices=formats, default="table", help=format_help)
    p.add_argument("--comments", action="store_true", help=comments_help)
    p.add_argument(
        "--all-variants", "-a", action="store_true", help="a row per variant, not only each network's first"
    )
    p.set_defaults(handler=cmd_history)

    p = command(
        "explain", "how a layer's or block's figures were computed", "archspec explain resnet50 Bottleneck"
    )
    p.add_argument("spec", metavar="SPEC", help="a .arch/.yaml file or a zoo network/variant name")
    p.add_argument(
        "layer",
        metavar="LAYER_OR_BLOCK",
        help="a dotted layer or container name (layer1.0.conv1), or a block name (every instance)",
    )
    _add_spec_options(p)
    p.set_defaults(handler=cmd_explain)

    p = command("ir", "print the IR graph as JSON", "archspec ir lenet5 > lenet5.json")
    p.add_argument("spec", metavar="SPEC", help="a .arch/.yaml file or a zoo network/variant name")
    _add_spec_options(p)
    p.set_defaults(handler=cmd_ir)

    p = command(
        "compile", "write standalone PyTorch source for a network", "archspec compile resnet18 -o resnet18.py"
    )
    p.add_argument("spec", metavar="SPEC", help="a .arch/.yaml file or a zoo network/variant name")
    _add_spec_options(p)
    p.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help="write to FILE (atomically; through a link, keeping the file's mode) instead of stdout "
        "(- is stdout)",
    )
    p.set_defaults(handler=cmd_compile)

    _add_draw_parser(sub)
    _add_report_parser(sub)

    p = command(
        "schema",
        "print the JSON Schema of the IR (or of the analysis report, or of YAML specs)",
        "archspec schema --yaml > archspec.schema.json",
    )
    p.add_argument(
        "--analysis",
        action="store_true",
        help="the schema of `archspec analyze --format json` instead of the IR's",
    )
    p.add_argument(
        "--yaml",
        action="store_true",
        help="the schema of the YAML form of a spec (docs/yaml.md), for editors that validate YAML",
    )
    p.set_defaults(handler=cmd_schema)

    p = command(
        "convert",
        "write a spec in the other form: text (.arch) to YAML or YAML to text (comments are not kept)",
        "archspec convert specs/resnet.arch --to yaml -o resnet.yaml",
    )
    p.add_argument("spec", metavar="FILE", help="a .arch, .yaml or .yml spec file")
    p.add_argument(
        "--to",
        required=True,
        choices=["yaml", "arch"],
        help="the form to write: yaml or arch (the text form)",
    )
    p.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help="write to FILE (atomically) instead of stdout (- is stdout)",
    )
    p.set_defaults(handler=cmd_convert)
    # The commands whose parsers import a module of their own are built only when wanted.
    if wanted("train", "eval", "predict"):
        _add_train_parsers(sub)
    if wanted("experiment"):
        _add_experiment_parser(sub)
    _add_sweep_parser(sub)
    _add_export_parser(sub)
    if wanted("fmt", "lsp", "watch", "draw", "report"):  # the last two take --watch
        from archspec.cli_editing import add_parsers as add_editing_parsers

        add_editing_parsers(sub, main, lambda argv: build_parser().parse_args(argv))
    return parser, subparsers.choices


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `archspec` console script and `python -m archspec`.

    Exit codes: 0 ok, 1 spec error, 2 usage error, 3 internal error (a bug: reported in one line with a
    hint, never as a traceback unless ARCHSPEC_DEBUG=1 or --debug asks for it).
    """
    # pydantic scans every installed distribution's entry points for its plugins on the first model it
    # builds (about 3% of what `analyze` adds to the floor, measured); the command line loads none. A
    # value set by the user stands.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    arguments = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in arguments or os.environ.get("ARCHSPEC_DEBUG", "") not in ("", "0")
    arguments = [a for a in arguments if a != "--debug"]
    with escaping_output(), warnings.catch_warnings(), _terminations():
        warnings.showwarning = _show_warning
        try:
            return _run(arguments)
        except Terminated as signal_received:
            return 128 + signal_received.signum
        except Exception as error:  # the last line of defence: a bug, told as one
            if debug:
                raise
            detail = truncate(printable(str(error)), 500)
            print(f"archspec: internal error: {type(error).__name__}: {detail}", file=sys.stderr)
            print(f"  hint: {BUG_HINT}", file=sys.stderr)
            return EXIT_INTERNAL


class Terminated(BaseException):
    """SIGTERM or SIGHUP: raised where the program is, so that every ``finally`` and cleanup runs (a
    staging folder, a temporary file, a `dot` process) before it exits with 128 + the signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextmanager
def _terminations() -> Iterator[None]:
    def terminate(signum: int, frame: object) -> None:
        raise Terminated(signum)

    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return
    previous = {number: signal.signal(number, terminate) for number in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _show_warning(message: Warning | str, category: type[Warning], *rest: object, **options: object) -> None:
    """A Python warning (a zoo name that a file shadows) as one line, like every other message."""
    print(f"archspec: warning: {message}", file=sys.stderr)


def _run(argv: Sequence[str]) -> int:
    parser = _parser_for(argv)
    try:
        args = parser.parse_args(argv)
        handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
        if handler is None:
            parser.print_help()
            return EXIT_USAGE
        return handler(args)
    except SpecError as error:
        print(error.render(), file=sys.stderr)
        return EXIT_SPEC
    except UsageError as error:
        print(f"archspec: error: {printable(str(error), keep=chr(10))}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `archspec ir resnet50 | head`
        return EXIT_OK
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

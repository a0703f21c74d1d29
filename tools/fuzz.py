"""A long fuzzing run: random and structurally mutated specs and --set values, hostile checkpoints, images,
data folders and command lines, each run in-process under a time and memory guard; any exception other
than a SpecError or UsageError, and any input that takes longer than the time limit, is reported.

    PYTHONPATH=$PWD nice .venv/bin/python tools/fuzz.py [--count 100000] [--seed 0] [--time-limit 2]
        [--kinds bytes,tokens,mutation,structural,set,checkpoint,image,folder,options]

Inputs, in turn: random bytes; random text over the spec language's characters and tokens; mutations of
the zoo's specs (a token deleted, duplicated or swapped, a random insertion); structural ones (deep nesting
of brackets, groups, `if`, `residual`, unary chains, long sums, huge literals, long repeats and loops);
`--set` values; and (tools/fuzz_files.py) checkpoints with hostile edits (keys removed, values of the
wrong type, recorded paths that climb out of their folder, huge recorded sizes: a folder that must stay
empty is checked after each), images (announced sizes of billions of pixels, truncated or corrupted
files, FIFOs, link loops), data folders of such files, and command lines of train, analyze, draw and
list with hostile option values (training stops once its data is loaded; exit code 3 is a failure).
The result (counts, the slowest input, every failure) is printed; docs/security.md records a run.
"""

from __future__ import annotations

import argparse
import random
import resource
import signal
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archspec.errors import SpecError, UsageError  # noqa: E402
from archspec.expr import evaluate  # noqa: E402
from archspec.loader import load_program  # noqa: E402
from archspec.lower import lower  # noqa: E402
from archspec.syntax import parse_expression  # noqa: E402

MEMORY_LIMIT = 2 * 2**30  # address space of this process: a runaway allocation fails, not the machine
TOKENS = [
    "network",
    "block",
    "input",
    "layers",
    "params",
    "variants",
    "for",
    "in",
    "if",
    "elif",
    "else",
    "residual",
    "shortcut",
    "auto",
    "concat",
    "add",
    "from",
    "import",
    "true",
    "false",
    "none",
    "not",
    "and",
    "or",
    "conv",
    "relu",
    "linear",
    "maxpool",
    "batchnorm",
    "flatten",
    "range",
    "round",
    "len",
    "x",
    "n",
    "B",
    ":",
    "(",
    ")",
    "[",
    "]",
    ",",
    "=",
    ">>",
    "*",
    "**",
    "+",
    "-",
    "/",
    "//",
    "%",
    "==",
    "<",
    ">=",
    ".",
    "#",
    '"',
    "'",
    "\n",
    "\n  ",
    "\n    ",
    "  ",
    " ",
    "\t",
    "3x8x8",
    "0",
    "1",
    "16",
    "10**15",
    "99999999999999999999",
    "1e308",
    "\\",
    "\x1b[2J",
    "\u202e",
    "\x00",
]
NET_HEAD = "network n:\n  input: 3x8x8\n  layers:\n"


SPEC_KINDS = ("bytes", "tokens", "mutation", "structural", "set")
FILE_KINDS = ("checkpoint", "image", "folder", "options")


class Timeout(BaseException):
    """Raised by the alarm when one input runs past the time limit (a BaseException: the CLI's last line
    of defence, which turns an Exception into exit 3, lets it through)."""


def structural(rng: random.Random) -> str:
    """A spec built to stress one limit: nesting, big values, long repeats and loops."""
    n = rng.choice([10, 99, 100, 101, 300, 1000, 5000])
    kind = rng.randrange(12)
    if kind == 0:
        return NET_HEAD + "    x = " + "(" * n + "1" + ")" * n + "\n    relu\n"
    if kind == 1:
        return NET_HEAD + "    x = " + "[" * n + "1" + "]" * n + "\n    relu\n"
    if kind == 2:
        word = rng.choice(["g{i}:", "if true:", "residual:", "for i in range(2):", "concat:"])
        lines = ["    " + "  " * i + word.format(i=i) for i in range(n)]
        return NET_HEAD + "\n".join(lines) + "\n    " + "  " * n + "relu\n"
    if kind == 3:
        return NET_HEAD + "    x = " + rng.choice(["-", "not ", "+"]) * n + "1\n    relu\n"
    if kind == 4:
        return (
            NET_HEAD
            + "    x = "
            + rng.choice(["+", "*", "**", " and ", "=="]).join(["1"] * n)
            + "\n    relu\n"
        )
    if kind == 5:
        return NET_HEAD + "    x = " + "9" * rng.choice([17, 4300, 5000, 100000]) + "\n    relu\n"
    if kind == 6:
        inner = rng.choice(["relu", "(relu * 0)", "conv(4, 3, pad=1)", "(relu >> relu)"])
        return NET_HEAD + f"    ({inner} * {n * 100}) * {n * 100}\n"
    if kind == 7:
        return (
            NET_HEAD
            + f"    for i in range({n * 100}):\n      for j in range({n * 100}):\n        if false: relu\n"
        )
    if kind == 8:
        return NET_HEAD + f"    x = [[0] * {n * 100}] * {n * 100}\n    y = x + 1\n"
    if kind == 9:
        blocks = "".join(f"block B{i}():\n  B{i + 1}()\n" for i in range(n)) + f"block B{n}():\n  relu\n"
        return blocks + NET_HEAD + "    B0()\n"
    if kind == 10:
        return NET_HEAD + f"    x = round(5, -10**{rng.randrange(20)})\n    relu\n"
    return (
        "network n:\n  input: "
        + rng.choice(["[3] * 100000", "[10**15] * 8", "3x" + "9" * 5000])
        + "\n  layers:\n    relu\n"
    )


def mutate(rng: random.Random, text: str) -> str:
    """A few random token-level edits of ``text``."""
    for _ in range(rng.randint(1, 4)):
        position = rng.randrange(len(text) + 1)
        action = rng.randrange(4)
        if action == 0:
            text = text[:position] + rng.choice(TOKENS) + text[position:]
        elif action == 1:
            text = text[:position] + text[position + rng.randint(1, 8) :]
        elif action == 2:
            start = rng.randrange(len(text) + 1)
            piece = text[start : start + rng.randint(1, 40)]
            text = text[:position] + piece * rng.randint(1, 50) + text[position:]
        else:
            text = (
                text[:position]
                + chr(rng.randrange(0x110000) if rng.random() < 0.2 else rng.randrange(128))
                + text[position:]
            )
    return text


def generate(rng: random.Random, kind: str, index: int, seeds: list[str], ws: Any) -> Any:
    """The index-th input, of ``kind``: a spec's text, a --set value, or a file case (fuzz_files)."""
    if kind == "bytes":
        data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 200)))
        return data.decode("utf-8", errors="replace")
    if kind == "tokens":
        return "".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 80)))
    if kind == "mutation":
        return mutate(rng, rng.choice(seeds))
    if kind == "structural":
        return structural(rng)
    if kind == "set":
        return "".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 12)))
    import fuzz_files

    if kind == "checkpoint":
        return fuzz_files.checkpoint_case(rng, ws)
    if kind == "image":
        return fuzz_files.image_case(rng, ws, index)
    if kind == "folder":
        return fuzz_files.folder_case(rng, ws, index)
    return fuzz_files.options_case(rng, ws)


def run_one(kind: str, case: Any, ws: Any) -> None:
    """Feed one input to archspec; a SpecError (or UsageError) is the expected failure."""
    try:
        if kind == "set":
            evaluate(parse_expression(case, "--set x"), {})
        elif kind in SPEC_KINDS:
            lower(load_program(Path("fuzz.arch"), text=case))
        else:
            import fuzz_files

            runner = {
                "checkpoint": lambda: fuzz_files.run_checkpoint(case, ws),
                "image": lambda: fuzz_files.run_image(case),
                "folder": lambda: fuzz_files.run_folder(case),
                "options": lambda: fuzz_files.run_options(case),
            }[kind]
            runner()
    except (SpecError, UsageError) as error:
        error.render() if isinstance(error, SpecError) else str(error)


def check(kind: str, case: Any, limit: float, ws: Any) -> str | None:
    """Run one input under the alarm; what went wrong, or None."""
    try:
        signal.setitimer(signal.ITIMER_REAL, limit)
        try:
            run_one(kind, case, ws)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except Timeout:
        return f"over {limit} s"
    except BaseException as error:
        signal.setitimer(signal.ITIMER_REAL, 0)
        return "".join(traceback.format_exception_only(type(error), error)).strip()[:300]
    return None


def _address_space() -> int:
    """This process's address space now (torch maps several GB it never touches)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the fuzzer and print its report; exit 1 when anything failed."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--count", type=int, default=100_000)
    options.add_argument("--seed", type=int, default=0)
    options.add_argument("--time-limit", type=float, default=2.0, help="seconds per input")
    options.add_argument(
        "--kinds", default=",".join(SPEC_KINDS + FILE_KINDS), help="comma-separated kinds, taken in turn"
    )
    args = options.parse_args(argv)
    kinds_wanted = [k for k in args.kinds.split(",") if k]
    unknown = sorted(set(kinds_wanted) - set(SPEC_KINDS + FILE_KINDS))
    if unknown or not kinds_wanted:
        options.error(f"unknown kinds {unknown}; expected some of {', '.join(SPEC_KINDS + FILE_KINDS)}")
    warnings.simplefilter("ignore")  # PIL's notes on the corrupt images it is fed on purpose
    with tempfile.TemporaryDirectory(prefix="archspec-fuzz-") as folder:
        ws = None
        if set(kinds_wanted) & set(FILE_KINDS):
            import fuzz_files
            import torch

            torch.set_num_threads(1)
            ws = fuzz_files.workspace(Path(folder))
        # A runaway allocation fails, not the machine: MEMORY_LIMIT above what is mapped now.
        limit = _address_space() + MEMORY_LIMIT
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        return _fuzz(args, kinds_wanted, ws)


def _fuzz(args: argparse.Namespace, kinds_wanted: list[str], ws: Any) -> int:
    def alarm(signum: int, frame: object) -> None:
        raise Timeout

    signal.signal(signal.SIGALRM, alarm)
    rng = random.Random(args.seed)
    seeds = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "archspec" / "zoo").glob("*.arch"))]
    failures: list[str] = []
    kinds: dict[str, int] = {}
    slowest = (0.0, "", "")
    started = time.perf_counter()
    for index in range(args.count):
        kind = kinds_wanted[index % len(kinds_wanted)]
        case = generate(rng, kind, index, seeds, ws)
        kinds[kind] = kinds.get(kind, 0) + 1
        begin = time.perf_counter()
        failure = check(kind, case, args.time_limit, ws)
        shown = repr(case)[:300]
        if failure is not None:
            failures.append(f"#{index} {kind}: {failure}: {shown}")
            print("FAILURE", failures[-1], flush=True)
        elapsed = time.perf_counter() - begin
        if elapsed > slowest[0]:
            slowest = (elapsed, kind, shown[:120])
        if (index + 1) % 2_000 == 0:
            print(
                f"{index + 1:,} inputs, {len(failures)} failures, {time.perf_counter() - started:.0f} s",
                flush=True,
            )
    total = time.perf_counter() - started
    print(
        f"inputs: {args.count:,} ({', '.join(f'{k} {v:,}' for k, v in sorted(kinds.items()))}); "
        f"seed {args.seed}"
    )
    print(f"failures (tracebacks or over {args.time_limit} s): {len(failures)}")
    print(f"time: {total:.0f} s; slowest input {slowest[0]:.2f} s ({slowest[1]}: {slowest[2]})")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    for failure in failures[:50]:
        print(failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

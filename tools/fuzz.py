"""A long fuzzing run: random and structurally mutated specs and --set values, each parsed and elaborated
in-process under a time and memory guard; any exception other than a SpecError, and any input that takes
longer than the time limit, is reported.

    PYTHONPATH=$PWD nice .venv/bin/python tools/fuzz.py [--count 100000] [--seed 0] [--time-limit 2]

Inputs, in turn: random bytes; random text over the spec language's characters and tokens; mutations of
the zoo's specs (a token deleted, duplicated or swapped, a random insertion); structural ones (deep nesting
of brackets, groups, `if`, `residual`, unary chains, long sums, huge literals, long repeats and loops);
and `--set` values. The result (counts, the slowest input, every failure) is printed; docs/security.md
records a run.
"""

from __future__ import annotations

import argparse
import random
import resource
import signal
import sys
import time
import traceback
from pathlib import Path

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


class Timeout(Exception):
    """Raised by the alarm when one input runs past the time limit."""


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


def generate(rng: random.Random, index: int, seeds: list[str]) -> tuple[str, str]:
    """(kind, text) of the index-th input."""
    choice = index % 5
    if choice == 0:
        data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 200)))
        return "bytes", data.decode("utf-8", errors="replace")
    if choice == 1:
        return "tokens", "".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 80)))
    if choice == 2:
        return "mutation", mutate(rng, rng.choice(seeds))
    if choice == 3:
        return "structural", structural(rng)
    return "set", "".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 12)))


def run_one(kind: str, text: str) -> None:
    """Parse and elaborate one input; a SpecError (or UsageError) is the expected failure."""
    try:
        if kind == "set":
            evaluate(parse_expression(text, "--set x"), {})
        else:
            lower(load_program(Path("fuzz.arch"), text=text))
    except (SpecError, UsageError) as error:
        error.render() if isinstance(error, SpecError) else str(error)


def check(kind: str, text: str, limit: float) -> str | None:
    """Run one input under the alarm; what went wrong, or None."""
    try:
        signal.setitimer(signal.ITIMER_REAL, limit)
        try:
            run_one(kind, text)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except Timeout:
        return f"over {limit} s"
    except BaseException as error:
        signal.setitimer(signal.ITIMER_REAL, 0)
        return "".join(traceback.format_exception_only(type(error), error)).strip()[:300]
    return None


def main() -> int:
    """Run the fuzzer and print its report; exit 1 when anything failed."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--count", type=int, default=100_000)
    options.add_argument("--seed", type=int, default=0)
    options.add_argument("--time-limit", type=float, default=2.0, help="seconds per input")
    args = options.parse_args()
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

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
        kind, text = generate(rng, index, seeds)
        kinds[kind] = kinds.get(kind, 0) + 1
        begin = time.perf_counter()
        failure = check(kind, text, args.time_limit)
        if failure is not None:
            failures.append(f"#{index} {kind}: {failure}: {text[:300]!r}")
        elapsed = time.perf_counter() - begin
        if elapsed > slowest[0]:
            slowest = (elapsed, kind, text[:120])
        if failures and failures[-1].startswith(f"#{index} "):
            print("FAILURE", failures[-1], flush=True)
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
    print(f"time: {total:.0f} s; slowest input {slowest[0]:.2f} s ({slowest[1]}: {slowest[2]!r})")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    for failure in failures[:50]:
        print(failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

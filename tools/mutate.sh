#!/usr/bin/env bash
# Mutation testing (`make mutate`, not part of CI): mutmut changes one operator, constant or call of
# archspec's rules at a time and runs the tests that reach the changed function; a mutant no test
# kills is a rule the tests do not pin down. Each module group runs in a copy of the working tree
# (build/mutate/GROUP, so the tree itself is never mutated) with its own fast test selection.
#
#   tools/mutate.sh [ops|analysis|backends]...     (default: all three)
#
# Results: build/mutate/GROUP.txt (`mutmut results`: the surviving mutants); inspect one with
# `cd build/mutate/GROUP && ../../../.venv/bin/python -m mutmut show NAME`. Runs under `nice -n 10`:
# the machine is shared. See docs/testing.md for the last scores and the equivalent mutants.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=$ROOT/.venv/bin/python

# The fast tests that pin each group's rules down (the slow big-network step is left out).
selection() {
  case $1 in
    ops | analysis)
      echo '"tests/test_crosscheck.py", "tests/test_lower.py", "tests/test_analysis.py", "tests/test_zoo.py"' ;;
    backends)
      echo '"tests/test_torch_backend.py", "tests/test_init.py", "tests/test_crosscheck.py"' ;;
    *) echo "unknown group $1 (ops, analysis or backends)" >&2; exit 2 ;;
  esac
}

for group in "${@:-ops analysis backends}"; do
  for g in $group; do
    tests=$(selection "$g")
    work=build/mutate/$g
    rm -rf "$work" && mkdir -p "$work"
    git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$work"
    cat >>"$work/pyproject.toml" <<TOML

[tool.mutmut]
source_paths = ["archspec/"]
only_mutate = ["archspec/$g/*"]
also_copy = ["specs/", "archspec/zoo/", "archspec/grammar.lark", "archspec/py.typed"]
pytest_add_cli_args = ["-p", "no:cacheprovider", "-m", "not slow", "-q"]
pytest_add_cli_args_test_selection = [$tests]
process_isolation = "forkserver"
TOML
    start=$(date +%s)
    (cd "$work" && env -u PYTHONPATH ARCHSPEC_HYPOTHESIS_PROFILE=mutate nice -n 10 "$PY" -m mutmut run --max-children 2) \
      >"build/mutate/$g.log" 2>&1 || true
    (cd "$work" && "$PY" -m mutmut results) >"build/mutate/$g.txt" 2>&1 || true
    echo "$g: $(( $(date +%s) - start )) s; $(tail -c 400 "build/mutate/$g.log" | tr '\r' '\n' | grep -a '🎉' | tail -1)"
    echo "  surviving mutants: build/mutate/$g.txt"
  done
done

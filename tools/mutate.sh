#!/usr/bin/env bash
# Mutation testing (`make mutate`, not part of CI): mutmut changes one operator, constant or call of
# archspec's rules at a time and runs the tests that reach the changed function; a mutant no test
# kills is a rule the tests do not pin down. It runs in a copy of the working tree (build/mutate/tree,
# so the tree itself is never mutated), over the rule functions of the groups asked for, with a fast
# test selection per group (mutmut then runs, for each mutant, only the selected tests that reach it).
#
#   tools/mutate.sh [ops] [analysis] [backends]     (default: all three)
#   tools/mutate.sh ops:pool backends:torch_layers  (GROUP:MODULE: only that module's rules)
#   tools/mutate.sh --resume [GROUP...]             (go on with the unchecked mutants of the last run)
#   tools/mutate.sh --names FILE GROUP...           (afresh, only the mutants named in FILE, one a line:
#                                                    the survivors of a run, after tests were added)
#
# MUTATE_TESTS="tests/a.py tests/b.py" replaces the groups' test selection: a quick first pass over
# mutants that every test reaches (the conv and linear rules: a full selection takes minutes a mutant),
# whose survivors then get the full selection (--names).
#
# A group takes an hour or more on two cores; --resume continues the last run's tree where it stopped
# (the same code and test selection: after a change to either, start afresh), checking only the mutants
# of the groups asked for that have no verdict yet (mutmut itself reruns every mutant it is named).
#
# Results: build/mutate/results.txt (`mutmut results`: the mutants that survived) and build/mutate/log;
# inspect one with `cd build/mutate/tree && ../../../.venv/bin/python -m mutmut show NAME`. Runs under
# `nice -n 10`: the machine is shared. docs/testing.md has the last scores and the equivalent mutants.
set -euo pipefail -f # -f: the mutant name patterns below are not file globs
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=$ROOT/.venv/bin/python
RESUME=false NAMES_FILE=
if [[ ${1:-} == --resume ]]; then
  RESUME=true
  shift
elif [[ ${1:-} == --names ]]; then
  NAMES_FILE=$(realpath "${2:?--names needs a file of mutant names}")
  shift 2
fi
GROUPS_ASKED=("${@:-ops analysis backends}")
read -r -a GROUPS_ASKED <<<"${GROUPS_ASKED[*]}"

# The fast tests that pin each group's rules down (the slow big-network step is left out).
selection() {
  case $1 in
    ops) # the zoo and random specs against torch, the figures, the hand calculations, the whole
      # error messages (an op names itself in its shape errors), the reports (counts are integers)
      echo tests/test_crosscheck.py tests/test_lower.py tests/test_analysis.py tests/test_zoo.py \
        tests/test_errors.py tests/test_report.py ;;
    analysis) # the same, and the reports that print the rows and the counting convention
      echo tests/test_crosscheck.py tests/test_lower.py tests/test_analysis.py tests/test_zoo.py \
        tests/test_report.py ;;
    backends) # parity with torchvision on random weights, init against torchvision and nn.init
      echo tests/test_torch_backend.py tests/test_init.py tests/test_crosscheck.py ;;
    *) echo "unknown group $1 (ops, analysis or backends)" >&2 && exit 2 ;;
  esac
}

# The rules to mutate in each group (mutmut name patterns): shapes, parameters, MACs, receptive fields,
# init schemes, torch realisation, and the passes over them. Error-message and validation code is left
# out: the error tests pin those messages down whole, and mutating them would triple the run.
patterns() {
  case $1 in
    ops)
      for rule in output_shape param_count buffer_count macs extra_flops receptive_field conv_output_size \
        _out weight_count bias_count connections_per_output infer_fields resolve_padding step _dilation \
        _adaptive_windows _adaptive_spans outputs numel; do
        echo "archspec.ops.*[_ǁ]${rule}__mutmut_*"
      done ;;
    analysis) echo "archspec.analysis.counts.*" "archspec.analysis.receptive.*" "archspec.analysis.core.*" ;;
    backends) echo "archspec.backends.init.*" "archspec.backends.torch_ops.*" "archspec.backends.torch_layers.*" ;;
  esac
}

tests=() names=() only=()
for asked in "${GROUPS_ASKED[@]}"; do
  g=${asked%%:*}
  read -r -a more <<<"$(selection "$g")"
  tests+=("${more[@]}")
  mapfile -t more < <(patterns "$g" | tr ' ' '\n')
  if [[ $asked == *:* ]]; then # GROUP:MODULE: only the patterns of archspec/GROUP/MODULE.py's functions
    module=${asked#*:}
    mapfile -t more < <(printf '%s\n' "${more[@]}" | sed "s/^archspec\.$g\.\*/archspec.$g.$module.*/" |
      grep "^archspec\.$g\.$module\.")
    ((${#more[@]})) || { echo "no rules of archspec/$g/$module.py to mutate" >&2 && exit 2; }
  fi
  names+=("${more[@]}")
  only+=("\"archspec/$g/*\"")
done
[[ -z ${MUTATE_TESTS:-} ]] || read -r -a tests <<<"$MUTATE_TESTS"
quoted=$(printf '"%s"\n' "${tests[@]}" | sort -u | paste -sd, -)
if [[ -n $NAMES_FILE ]]; then
  mapfile -t names < <(grep -v '^ *$' "$NAMES_FILE" | sed 's/^ *//; s/:.*$//')
  echo "only the ${#names[@]} mutants named in $NAMES_FILE"
fi

work=build/mutate/tree
if $RESUME; then
  [[ -d $work/mutants ]] || { echo "nothing to resume: no $work/mutants (run without --resume)" >&2 && exit 2; }
  # The mutants of these groups that have no verdict yet, by name (mutmut's patterns are fnmatch's).
  mapfile -t names < <(cd "$work" && "$PY" -m mutmut results --all true 2>/dev/null |
    sed -n 's/^ *\(.*\): not checked$/\1/p' |
    "$PY" -c 'import fnmatch, sys; pats = sys.argv[1:]; [print(n) for n in sys.stdin.read().split() if any(fnmatch.fnmatchcase(n, p) for p in pats)]' "${names[@]}")
  echo "resuming: ${#names[@]} unchecked mutants"
  ((${#names[@]})) || exit 0
else
  rm -rf "$work" && mkdir -p "$work"
  git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$work"
  cat >>"$work/pyproject.toml" <<TOML

[tool.mutmut]
source_paths = ["archspec/"]
only_mutate = [$(IFS=,; echo "${only[*]}")]
also_copy = ["specs/", "docs/", "archspec/zoo/", "archspec/grammar.lark", "archspec/grammar.tables.json", "archspec/py.typed"]
pytest_add_cli_args = ["-p", "no:cacheprovider", "-m", "not slow", "-q"]
pytest_add_cli_args_test_selection = [$quoted, "-k", "not fused and not explicit_reference and not generated and not dynamo and not (zoo_receptive and (vgg16 or alexnet or mobilenet))"]
process_isolation = "forkserver"
TOML
fi
start=$(date +%s)
(cd "$work" && env -u PYTHONPATH ARCHSPEC_HYPOTHESIS_PROFILE=mutate nice -n 10 \
  "$PY" -m mutmut run --max-children 2 "${names[@]}") >build/mutate/log 2>&1 || true
(cd "$work" && "$PY" -m mutmut results) >build/mutate/results.txt 2>&1 || true
echo "groups ${GROUPS_ASKED[*]}: $(($(date +%s) - start)) s"
tr '\r' '\n' <build/mutate/log | grep -a '🎉' | tail -1
echo "surviving mutants: build/mutate/results.txt"

#!/usr/bin/env bash
# `make demo`: check and analyse the whole zoo, draw every network, print the history of CNNs, compile one
# network to source, train LeNet-5 on the digits, build the report site.
# Runs after tools/setup.sh (the Makefile does that). Writes its artefacts under out/.
set -euo pipefail
cd "$(dirname "$0")/.."
ARCHSPEC=".venv/bin/python -m archspec"
mkdir -p out

echo "== archspec list"
$ARCHSPEC list

echo
echo "== archspec check (every spec, every variant)"
$ARCHSPEC check specs/*.arch

for name in $($ARCHSPEC list --format json | .venv/bin/python -c \
    'import json, sys; print(" ".join(v for n in json.load(sys.stdin) for v in n["variants"]))'); do
    $ARCHSPEC analyze "$name" --format json > "out/$name.json"
    $ARCHSPEC analyze "$name" --format markdown > "out/$name.md"
done
echo "analysis of every variant written to out/<variant>.json and out/<variant>.md"

echo
echo "== archspec analyze resnet50 --depth 1"
$ARCHSPEC analyze resnet50 --depth 1

echo
echo "== archspec draw (every variant, both styles) -> out/diagrams/"
mkdir -p out/diagrams
# One process for the whole zoo (the same as `archspec draw NAME -o FILE` per file, without 48 start-ups).
.venv/bin/python - <<'PY'
import archspec
from archspec.catalog import catalog

for entry in catalog():
    for variant in entry.variants:
        network = archspec.load(entry.path, variant)
        network.draw(f"out/diagrams/{variant}.svg")
        network.draw(f"out/diagrams/{variant}.maps.svg", style="maps")
PY
$ARCHSPEC draw resnet50 --depth 2 -o out/diagrams/resnet50.depth2.svg
echo "diagrams of every variant written to out/diagrams/<variant>.svg and <variant>.maps.svg"

echo
echo "== archspec history"
$ARCHSPEC history

echo
echo "== archspec compile lenet5 -o out/lenet5.py && python out/lenet5.py"
$ARCHSPEC compile lenet5 -o out/lenet5.py
.venv/bin/python out/lenet5.py

echo
echo "== archspec train lenet5 --data digits (the defaults; the run folder is out/lenet5-digits)"
rm -rf out/lenet5-digits
$ARCHSPEC train lenet5 --data digits --out out/lenet5-digits
echo
echo "== archspec eval out/lenet5-digits/best.pt"
$ARCHSPEC eval out/lenet5-digits/best.pt

echo
echo "== archspec report -o out/site (the whole zoo as a static site)"
$ARCHSPEC report -o out/site

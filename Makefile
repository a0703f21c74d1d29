# The two commands of the README. Both do all set-up first (idempotent; see tools/setup.sh).
.PHONY: setup demo test lint typecheck export-check bench train-demo bench-train bench-train-instructions mutate experiments \
	difftest

PY := .venv/bin/python

setup:
	@bash tools/setup.sh

demo: setup
	@bash tools/demo.sh

# The fast suite first, then the slow step (torch.compile / torch.export of the large networks).
# pytest exits 5 when a step selects no test; that is not a failure here.
test: setup
	@$(PY) -m pytest -q -n 2 --dist loadgroup -m "not slow"
	@$(PY) -m pytest -q -n 2 --dist loadgroup -m slow || [ $$? -eq 5 ]

# The files `archspec compile` copies into generated source at 100 columns (pyproject.toml excludes them
# from the 110-column checks above).
COPIED := archspec/backends/torch_layers.py archspec/backends/init.py
lint: setup
	@$(PY) -m ruff check archspec tests tools
	@$(PY) -m ruff format --check archspec tests tools
	@$(PY) -m archspec fmt --check specs/
	@$(PY) -m ruff check --line-length 100 $(COPIED)
	@$(PY) -m ruff format --check --line-length 100 $(COPIED)

typecheck: setup
	@$(PY) -m mypy archspec

# The historical networks trained on scikit-learn's digits with the defaults (targets: LeNet-5 >= 98%,
# LeCun 1989 >= 97% test accuracy, each under a minute on 2 CPU cores).
train-demo: setup
	@rm -rf out/train-lenet5 out/train-lecun1989
	@$(PY) -m archspec train lenet5 --data digits --out out/train-lenet5
	@$(PY) -m archspec train lecun1989 --data digits --out out/train-lecun1989

# Accuracy over 3 seeds and the training loop against a plain torch loop (docs/benchmarks.md).
bench-train: setup
	@$(PY) tools/bench_train.py

# The two loops' instructions per image, counted with valgrind's callgrind (about 15 minutes).
bench-train-instructions: setup
	@command -v valgrind >/dev/null || { [ "$$(id -u)" = 0 ] && S= || S=sudo; \
	  $$S apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$S apt-get install -y -qq valgrind >/dev/null; }
	@$(PY) tools/bench_train.py --instructions

# Mutation testing of the rules (ops, analysis, backends); not part of CI: it takes long. Rerun whenever an
# op or an init scheme is added. `make mutate GROUPS=ops` for one group. See docs/testing.md.
GROUPS ?= ops analysis backends
mutate: setup
	@$(PY) -c "import mutmut" 2>/dev/null || $(PY) -m pip install -q -c tools/constraints.txt "mutmut>=3.8"
	@bash tools/mutate.sh $(GROUPS)

# The essay's claims as experiments, in full (docs/claims.md); results and plots in runs/experiments/, and
# each trained result recorded (--record) as experiments/NAME/result.json + plot.svg, the committed records.
experiments: setup
	@time $(PY) -m archspec experiment --all --record

# Differential testing against torch at length (docs/testing.md): N random networks (default 1000, about a
# second each); each failing spec, shrunk, is kept in tests/difftest_regressions/, which the suite replays.
N ?= 1000
difftest: setup
	@$(PY) tools/difftest.py --examples $(N)

# Every zoo variant exported to ONNX and pt2 and checked under onnxruntime / torch.export.load (the slow test
# step exports each spec's default variant only; this is about 50 exports, tens of minutes on 2 cores).
export-check: setup
	@ARCHSPEC_EXPORT_ALL=1 $(PY) -m pytest -q -m slow tests/test_export.py

# Every target sets up .venv itself.  torch is pinned to the CPU build that these machines carry;
# pyproject.toml states the supported range.
PY      := .venv/bin/python
STAMP   := .venv/.installed
export WANDB_MODE ?= offline
export ZOO_DATA_DIR ?= $(HOME)/.cache/physics-zoo

.PHONY: demo test bench reproduce clean

$(STAMP): pyproject.toml
	python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# the main job: a short fit of a small Ising model, then the published Ising checkpoints re-measured
# each demo run gets its own folder: a fresh fit never replaces an earlier run's checkpoints
DEMO_RUN := runs/ising_cnn/demo-$(shell date +%Y%m%d-%H%M%S)
demo: $(STAMP)
	.venv/bin/zoo fit --config ising_cnn/demo --trainer.default_root_dir $(DEMO_RUN)
	.venv/bin/zoo evaluate --model ising_cnn

test: $(STAMP)
	$(PY) -m pytest -q -n 2 --dist worksteal tests

bench: $(STAMP)
	$(PY) -m pip install -q -e '.[test,bench,peers]'
	for f in benchmarks/perf_*.py; do $(PY) $$f || exit 1; done
	$(PY) benchmarks/summarize.py

# every model with a report in this checkout
reproduce: $(STAMP)
	for m in $$($(PY) -c 'from zoo.reports import available_reports as a; print(*a())'); do .venv/bin/zoo reproduce $$m || exit 1; done

clean:
	rm -rf .venv runs reports/*.tmp

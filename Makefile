# Two commands do everything on a fresh machine: `make book` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export TQDM_DISABLE ?= 1

.PHONY: book test lint unit fast notebooks other-cpus build-check browser-check pdf pdf-check student assignments grade bench clean

# The environment: created once, refreshed when the requirements or their pins change. The pins
# (constraints.txt) are the versions the committed outputs were made with.
$(STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# MathJax served from the build, not a CDN: the published pages render offline (npm registry).
MATHJAX := _vendor/mathjax
$(MATHJAX)/tex-chtml.js:
	rm -rf _build/npm && mkdir -p _build/npm
	cd _build/npm && npm install --no-save --no-audit --no-fund --silent mathjax@3.2.2
	rm -rf $(MATHJAX) && mkdir -p $(MATHJAX)
	cp -r _build/npm/node_modules/mathjax/es5/. $(MATHJAX)/

# The HTML book in _build/html, executing notebooks through jupyter-cache.
book: $(STAMP) $(MATHJAX)/tex-chtml.js
	$(BIN)/jupyter-book build . -W

# The whole suite: lint, unit tests, every notebook under nbval, the training chapters again as other
# CPUs would run them (each on one of two paths), the book built from committed outputs, every built chapter (and the live
# playground, on a fake camera) opened in headless Chromium, and the PDF edition read back.
test: lint unit notebooks other-cpus build-check browser-check pdf-check

# ruff (pyproject.toml): the package, tests, tools and benchmarks, and the book's code cells at 88
# columns (book/ruff.toml).
lint: $(STAMP)
	$(BIN)/ruff check vmp tests tools benchmarks book

# Every unit test, the slow ones included (tests/conftest.py: a plain `pytest` runs only the fast ones);
# the 15 slowest are listed at the end, to keep `make test` within its time budget.
unit: $(STAMP)
	$(BIN)/python -m pytest tests -q -p no:cacheprovider -m "not browser and not pdf and not cpus" \
	  --ignore=tests/browser --ignore=tests/cpus --ignore=tests/pdf --durations=15

# The fast subset, what a plain `pytest` runs: no test marked slow, browser, pdf or cpus.
fast: $(STAMP)
	$(BIN)/python -m pytest tests -q -p no:cacheprovider -m "not slow and not browser and not pdf and not cpus"

# Chapters 6-10 under nbval with torch, MKL and oneDNN held to AVX2 or to no vector units at all (each
# chapter on one of the two: tests/cpus/test_other_cpus.py).
other-cpus: $(STAMP)
	$(BIN)/python -m pytest tests/cpus -q -p no:cacheprovider -m cpus

# Every notebook under nbval on this machine's own CPU code path, except the training chapters 6-10:
# other-cpus runs those as other CPUs would (their native run is the one that wrote them).
TRAINING_CHAPTERS := 06_training_loop 07_slowfast 08_x3d 09_timesformer 10_results_and_ablations
notebooks: $(STAMP)
	$(BIN)/python -m pytest -q --nbval --nbval-current-env --nbval-cell-timeout=1200 \
	  --nbval-sanitize-with book/sanitize.cfg -p no:cacheprovider \
	  $(filter-out $(TRAINING_CHAPTERS:%=book/%.ipynb),$(wildcard book/*.ipynb))

# A clean build into its own folder: a stale Sphinx environment can break after _toc.yml changes.
build-check: $(STAMP) $(MATHJAX)/tex-chtml.js
	rm -rf _build/committed && mkdir -p _build/committed
	sed 's/^\(\s*execute_notebooks:\).*/\1 "off"/' _config.yml > _build/committed/_config.yml
	$(BIN)/jupyter-book build . -W --config _build/committed/_config.yml --path-output _build/committed

# The PDF edition in _build/pdf/_build/latex/book.pdf, from the committed outputs. Needs Debian's
# texlive-xetex, texlive-latex-extra, texlive-fonts-recommended, fonts-freefont-otf and latexmk
# (.ci/run installs them when missing).
pdf: $(STAMP)
	rm -rf _build/pdf && mkdir -p _build/pdf
	sed 's/^\(\s*execute_notebooks:\).*/\1 "off"/' _config.yml > _build/pdf/_config.yml
	$(BIN)/jupyter-book build . --builder pdflatex --config _build/pdf/_config.yml --path-output _build/pdf

# The PDF read back with poppler: every chapter, no raw LaTeX or Markdown, every figure caption.
pdf-check: pdf
	$(BIN)/python -m pytest tests/pdf -q -p no:cacheprovider -m pdf

# Needs Debian's chromium and chromium-driver (.ci/run installs them when missing).
browser-check: build-check
	$(BIN)/python -m pytest tests/browser -q -p no:cacheprovider -m browser

# Student notebooks (no solutions, no outputs) in student/book/: what the Colab buttons open.
student: $(STAMP)
	$(BIN)/python tools/student_notebooks.py

# The assignments' student versions (nbgrader's release: no solutions, no hidden tests).
assignments: $(STAMP)
	$(BIN)/python tools/grade.py release

# Grade a folder of submissions: make grade ASSIGNMENT=a1_layer_backward SUBMISSIONS=folder [KEEP=dir]
grade: $(STAMP)
	$(BIN)/python tools/grade.py grade $(ASSIGNMENT) $(SUBMISSIONS) $(if $(KEEP),--keep $(KEEP))

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_motion_prompt.py

clean:
	rm -rf _build .pytest_cache

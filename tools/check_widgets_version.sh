#!/usr/bin/env bash
# The chapters need ipywidgets only for tqdm's notebook progress bars. Check that an old version
# (7.7.1, the 7.x line Colab has shipped) still draws them, in a throw-away environment.
# Usage: bash tools/check_widgets_version.sh [VERSION]   (needs the package registry)
set -euo pipefail
version="${1:-7.7.1}"
folder="$(mktemp -d)"
trap 'rm -rf "$folder"' EXIT
python3 -m venv "$folder/venv"
"$folder/venv/bin/pip" install --quiet "ipywidgets==$version" "tqdm>=4.66" ipython
"$folder/venv/bin/python" - <<'PY'
import ipywidgets, tqdm
from tqdm.notebook import tqdm as bar

progress = bar(range(3), desc="epoch 1/1", leave=False)
for _ in progress:
    pass
progress.close()
print(f"ipywidgets {ipywidgets.__version__}, tqdm {tqdm.__version__}: notebook progress bars work")
PY

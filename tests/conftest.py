"""Test helpers live beside the tests (tests/videos.py); markers sort the suites.

A plain ``pytest`` (no paths, no ``-m``) runs the fast suite: the tests marked ``slow``, and those in
``browser/``, ``pdf/`` and ``cpus/`` (which need a built book, a PDF or minutes of chapters), are
deselected. Naming paths or ``-m`` runs what was asked; the Makefile's targets pass their own ``-m``.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

#: The marker expression of the fast suite, what a plain ``pytest`` and ``make fast`` run.
FAST = "not slow and not browser and not pdf and not cpus"
#: Each folder's tests carry its folder's marker.
FOLDER_MARKERS = ("browser", "pdf", "cpus")


def pytest_configure(config: pytest.Config) -> None:
    if not config.option.markexpr and config.args_source == pytest.Config.ArgsSource.TESTPATHS:
        config.option.markexpr = FAST


@pytest.hookimpl(tryfirst=True)  # before pytest's own hook deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tests = Path(__file__).parent
    for item in items:
        folder = item.path.relative_to(tests).parts[0] if item.path.is_relative_to(tests) else ""
        if folder in FOLDER_MARKERS:
            item.add_marker(folder)

"""Test helpers live beside the tests (tests/videos.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

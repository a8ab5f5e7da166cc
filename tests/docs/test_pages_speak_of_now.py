"""Documentation, configs and results files say what is true now, not how or when it was found."""

from __future__ import annotations

import re

from tests.docs.helpers import ROOT

HISTORY = re.compile(r"session|tried|earlier|previously|was measured", re.I)


def _files():
    yield ROOT / "README.md"
    yield ROOT / "BENCHMARKS.md"
    yield from sorted((ROOT / "docs").rglob("*.md"))
    yield from sorted((ROOT / "docs" / "results").glob("*.json"))
    yield from sorted((ROOT / "configs").glob("*.yaml"))


def test_no_page_speaks_of_sessions_attempts_or_history():
    found = []
    for path in _files():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if HISTORY.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert not found, "\n".join(found)

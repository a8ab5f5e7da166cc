"""Copy each lesson's measured numbers into its page.

A page holds a block between ``<!-- numbers: NAME -->`` and ``<!-- /numbers -->``; this script replaces the block
with the ``summary`` that ``gankit lesson NAME --out docs/lessons/figures`` wrote into ``figures/NAME.json``, so the
numbers in the text are the numbers of the committed figures. ``--check`` only reports pages that are out of date.

Run: python docs/lessons/sync.py [--check]
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BLOCK = re.compile(r"(<!-- numbers: (?P<name>[a-z0-9-]+) -->)\n(?:.*?\n)?(<!-- /numbers -->)", re.S)


def synced(text: str) -> str:
    """``text`` with every numbers block holding the summary of its lesson's JSON."""

    def fill(match: re.Match) -> str:
        path = HERE / "figures" / f"{match['name']}.json"
        if not path.is_file():
            return match.group(0)  # not made yet: the block stays as it is
        record = json.loads(path.read_text())
        cost = f"Command: `{record['command']}` ({record['cpu_seconds']:.0f} CPU-s on {record['threads']} thread(s))."
        return f"{match.group(1)}\n{record['numbers']['summary']}\n\n{cost}\n{match.group(3)}"

    return BLOCK.sub(fill, text)


def main(argv: list[str]) -> int:
    stale = []
    for page in sorted(HERE.glob("*.md")):
        text = page.read_text()
        new = synced(text)
        if new != text:
            stale.append(page.name)
            if "--check" not in argv:
                page.write_text(new)
    if stale:
        print(("out of date: " if "--check" in argv else "updated: ") + ", ".join(stale))
    return 1 if stale and "--check" in argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

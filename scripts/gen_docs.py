"""Write the reference pages that are generated from the code (docs/formats.md, ...).

    python scripts/gen_docs.py          # rewrite them
    python scripts/gen_docs.py --check  # exit 1 when a page differs from the code
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def pages() -> dict[str, str]:
    from imac_builder.cli.reference import commands_page
    from imac_builder.reference import configuration_page, formats_page

    return {"formats.md": formats_page(), "configuration.md": configuration_page(),
            "commands.md": commands_page()}


def main(argv: list[str]) -> int:
    stale = []
    for name, text in pages().items():
        path = DOCS / name
        if "--check" in argv:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"out of date: {', '.join(stale)}; run python scripts/gen_docs.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

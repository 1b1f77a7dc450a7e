"""``python -m imac_builder`` is ``imac-build``."""

from .cli import main

main()

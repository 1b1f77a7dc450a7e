"""``python -m imac_builder`` is ``imac-build``."""

from .cli import main

if __name__ == "__main__":
    main()

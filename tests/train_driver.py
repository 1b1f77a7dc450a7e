"""``imac-build`` with the trainer's resumable checkpoint written after every epoch.

``python tests/train_driver.py --workdir W train ...``: the kill tests need checkpoints
more often than the default (every 30 s) to land kills between them.
"""

from __future__ import annotations

import torch

from imac_builder.cli import main
from imac_builder.train import trainer

if __name__ == "__main__":
    torch.set_num_threads(1)
    trainer.CHECKPOINT_EVERY_S = 0.0
    main()

"""The paper's figures (no torch: the CLI imports this)."""

from __future__ import annotations

#: Paper Table 4: test accuracy (%) of each model on the IMAC pairs.
PAPER_TABLE4 = {"ACP-Net": 61.67, "L3-Net": 57.17, "Spectrogram-ACP": 55.84}
#: Paper Table 5: accuracy (%) of MLP probes on ACP-Net's embeddings.
PAPER_TABLE5 = {"image emotion, 8 classes": 40.4, "music emotion, 3 classes": 63.5}

"""imac_builder: build the IMAC dataset (Verma, Dhekane, Guha, ICASSP 2019) and train ACP-Net."""

__version__ = "0.1.0"

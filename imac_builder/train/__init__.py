"""``split``, ``train`` and ``evaluate``: ACP-Net on the feature stores (spec §6)."""

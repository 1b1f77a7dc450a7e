"""ACP-Net (paper §3, Fig. 2), the baselines of Table 4 and the MLP probes of Table 5.

Three models share one interface (``embed_image``, ``embed_music``, ``fuse``, ``forward``,
``fit_inputs``) so that one trainer and one evaluator serve them all:

- ``acp``: ACP-Net on the 2048-d Inception features and the 193-d music features;
- ``spectrogram-acp``: the same network whose music subnet takes a log-spectrogram
  (128 bands × 60 one-second blocks, flattened to 7,680 inputs) instead;
- ``l3``: L3-Net (Arandjelović & Zisserman, ICCV 2017) from scratch on 224 × 224 RGB
  pixels and 1 s log-spectrogram crops.

Widths the paper leaves open (ours, spec §6):

- image subnet, 2 FC: 2048 → 1024 → 1024
- music subnet, 4 FC: 193 → 512 → 1024 → 1024 → 1024
- fusion, 4 FC on the 2048-d concatenation: 2048 → 1024 → 512 → 128 → 2

ReLU after every hidden layer; the recipe adds batch normalisation before each ReLU
(``default``) or dropout after it (``paper``: 0.4). Inputs are standardised with the
training split's mean and standard deviation, stored in the model as buffers.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .recipes import FUSION_WIDTHS, IMAGE_WIDTHS, L3_CHANNELS, L3_FUSION, MUSIC_WIDTHS


def mlp(sizes: list[int], dropout: float, last_activation: bool,
        last_dropout: bool = True, norm: bool = False) -> nn.Sequential:
    """Linear layers with ReLU (batch norm before it when ``norm``) and dropout after each
    hidden one (after the last too when ``last_activation``; its dropout only when
    ``last_dropout``; no dropout layer at all when ``dropout`` is 0)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        last = i == len(sizes) - 2
        if last_activation or not last:
            if norm:
                layers.append(nn.BatchNorm1d(b))
            layers.append(nn.ReLU())
            if dropout > 0 and (not last or last_dropout):
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def kaiming_init(module: nn.Module) -> None:
    """He initialisation for the ReLU layers (variance 2 / fan-in, zero biases), so the
    signal keeps its scale through the eight layers from input to output; the output layer
    starts small (logits near 0, loss near log 2)."""
    linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
    for m in linears:
        nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        nn.init.zeros_(m.bias)
    nn.init.normal_(linears[-1].weight, std=0.01)


class Standardize(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    def fit(self, x: torch.Tensor) -> None:
        self.mean.copy_(x.mean(0))
        self.std.copy_(x.std(0).clamp_min(1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class ACPNet(nn.Module):
    """Affective correspondence: P(image and music share an emotion class)."""

    def __init__(self, image_dim: int = 2048, music_dim: int = 193, dropout: float = 0.4,
                 image_widths: Sequence[int] = IMAGE_WIDTHS,
                 music_widths: Sequence[int] = MUSIC_WIDTHS,
                 fusion_widths: Sequence[int] = FUSION_WIDTHS, subnet_dropout: bool = True,
                 init: str = "torch", norm: str = "none") -> None:
        super().__init__()
        self.image_norm = Standardize(image_dim)
        self.music_norm = Standardize(music_dim)
        sub = dropout if subnet_dropout else 0.0
        bn = norm == "batch"
        self.image_net = mlp([image_dim, *image_widths], sub, last_activation=True,
                             last_dropout=subnet_dropout, norm=bn)
        self.music_net = mlp([music_dim, *music_widths], sub, last_activation=True,
                             last_dropout=subnet_dropout, norm=bn)
        self.fusion = mlp([image_widths[-1] + music_widths[-1], *fusion_widths, 2], dropout,
                          last_activation=False, norm=bn)
        if init == "kaiming":
            kaiming_init(self)
        elif init != "torch":
            raise ValueError(f"unknown init {init!r}")

    eval_batch = 8192  # rows per embedding batch at evaluation

    def fit_inputs(self, image_x: torch.Tensor, image_rows: torch.Tensor,
                   music_x: torch.Tensor, music_rows: torch.Tensor) -> None:
        """Standardise with the training rows' statistics (computed on the CPU, so every
        device starts from the same numbers)."""
        self.image_norm.fit(image_x[image_rows].cpu())
        self.music_norm.fit(music_x[music_rows].cpu())

    def embed_image(self, x: torch.Tensor) -> torch.Tensor:
        return self.image_net(self.image_norm(x))

    def embed_music(self, x: torch.Tensor) -> torch.Tensor:
        return self.music_net(self.music_norm(x))

    def fuse(self, image_emb: torch.Tensor, music_emb: torch.Tensor) -> torch.Tensor:
        return self.fusion(torch.cat([image_emb, music_emb], dim=1))

    def forward(self, image: torch.Tensor, music: torch.Tensor) -> torch.Tensor:
        return self.fuse(self.embed_image(image), self.embed_music(music))


class ClassHeads(nn.Module):
    """Training-only linear heads of the ``class-heads`` recipe ("ACP-Net + class heads"):
    each subnet's embedding predicts its item's emotion class.

    These losses use per-modality class labels, which the paper's network never sees;
    they give each subnet a first-order signal from the first step. They are not part of
    the saved model (docs/train.md, "Recipes").
    """

    def __init__(self, image_dim: int, music_dim: int, weight: float,
                 n_classes: int = 3) -> None:
        super().__init__()
        self.image = nn.Linear(image_dim, n_classes)
        self.music = nn.Linear(music_dim, n_classes)
        self.weight = weight

    @classmethod
    def for_model(cls, model: ACPNet, weight: float) -> ClassHeads:
        def width(net: nn.Module) -> int:
            return [m.out_features for m in net.modules() if isinstance(m, nn.Linear)][-1]

        return cls(width(model.image_net), width(model.music_net), weight)

    def loss(self, ei: torch.Tensor, em: torch.Tensor, li: torch.Tensor,
             lm: torch.Tensor) -> torch.Tensor:
        import torch.nn.functional as F

        return self.weight * (F.cross_entropy(self.image(ei).float(), li)
                              + F.cross_entropy(self.music(em).float(), lm))


def conv_block(cin: int, cout: int, pool: bool) -> nn.Sequential:
    """Two 3×3 convolutions, each with batch norm and ReLU, then 2×2 max pooling."""
    layers: list[nn.Module] = []
    for a in (cin, cout):
        layers += [nn.Conv2d(a, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                   nn.ReLU(inplace=True)]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class Tower(nn.Module):
    """L3-Net subnetwork: four conv blocks, pooling after the first three, then a max over
    all remaining positions (the original's pool4: 28×28 for vision, 32×24 for audio)."""

    def __init__(self, in_channels: int, channels: Sequence[int]) -> None:
        super().__init__()
        ins = (in_channels, *channels[:-1])
        self.blocks = nn.Sequential(*[conv_block(a, b, pool=i < len(channels) - 1)
                                      for i, (a, b) in enumerate(zip(ins, channels,
                                                                     strict=True))])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x).amax(dim=(2, 3))


class L3Net(nn.Module):
    """L3-Net: vision and audio towers, concatenation, fc 1024 → 128 → 2.

    Images arrive as uint8 N × H × W × 3 (the pixel store), scaled to [-2, 2] and
    flipped left-right at random in training. Spectrograms arrive as N × bands × frames
    dB values (the spectrogram store), standardised per band with the training split's
    statistics. Training: one random ``crop_frames`` crop (1 s) per pair. Evaluation:
    ``test_crops`` crops evenly spaced over the segment; a pair's probability is the mean
    of the crops' probabilities (``fuse`` returns its log, so softmax gives it back).
    """

    eval_batch = 64

    def __init__(self, bands: int, crop_frames: int = 40, test_crops: int = 12,
                 channels: Sequence[int] = L3_CHANNELS, fusion_width: int = L3_FUSION
                 ) -> None:
        super().__init__()
        self.crop_frames = crop_frames
        self.test_crops = test_crops
        self.vision = Tower(3, channels)
        self.audio = Tower(1, channels)
        self.audio_norm = Standardize(bands)
        self.fusion = nn.Sequential(nn.Linear(2 * channels[-1], fusion_width), nn.ReLU(),
                                    nn.Linear(fusion_width, 2))

    def fit_inputs(self, image_x: torch.Tensor, image_rows: torch.Tensor,
                   music_x: torch.Tensor, music_rows: torch.Tensor) -> None:
        """Per-band mean and standard deviation over the training segments (float64 sums
        in chunks on the store's device: the store may be many GB)."""
        s = torch.zeros(music_x.shape[1], dtype=torch.float64, device=music_x.device)
        s2 = torch.zeros_like(s)
        n = 0
        for b in range(0, len(music_rows), 256):
            x = music_x[music_rows[b:b + 256]].double()
            s += x.sum((0, 2))
            s2 += (x * x).sum((0, 2))
            n += x.shape[0] * x.shape[2]
        mean = s / max(n, 1)
        std = (s2 / max(n, 1) - mean * mean).clamp_min(1e-12).sqrt()
        self.audio_norm.mean.copy_(mean.float().cpu())
        self.audio_norm.std.copy_(std.float().clamp_min(1e-6).cpu())

    def embed_image(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 3, 1, 2).float().div(63.75).sub(2.0)  # NHWC bytes: channels_last
        if self.training:
            flip = torch.rand(x.shape[0], device=x.device) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
        return self.vision(x)

    def _audio(self, crops: torch.Tensor) -> torch.Tensor:
        """crops: M × bands × frames (dB) -> M × 512."""
        x = (crops.float() - self.audio_norm.mean[:, None]) / self.audio_norm.std[:, None]
        return self.audio(x[:, None])

    def embed_music(self, x: torch.Tensor) -> torch.Tensor:
        """N × 512 in training (one random crop each), N × crops × 512 in evaluation."""
        n, bands, frames = x.shape
        c = min(self.crop_frames, frames)
        offsets = torch.arange(c, device=x.device)
        if self.training:
            start = torch.randint(0, frames - c + 1, (n,), device=x.device)
            idx = (start[:, None] + offsets)[:, None, :].expand(n, bands, c)
            return self._audio(x.gather(2, idx))
        k = self.test_crops
        starts = torch.linspace(0, frames - c, k, device=x.device).round().long()
        crops = x[:, :, starts[:, None] + offsets]  # N × bands × k × c
        emb = self._audio(crops.permute(0, 2, 1, 3).reshape(n * k, bands, c))
        return emb.view(n, k, -1)

    def fuse(self, image_emb: torch.Tensor, music_emb: torch.Tensor) -> torch.Tensor:
        if music_emb.dim() == 2:
            return self.fusion(torch.cat([image_emb, music_emb], dim=1))
        k = music_emb.shape[1]
        logits = self.fusion(torch.cat([image_emb[:, None, :].expand(-1, k, -1), music_emb],
                                       dim=2))
        return torch.softmax(logits.float(), dim=-1).mean(1).clamp_min(1e-12).log()

    def forward(self, image: torch.Tensor, music: torch.Tensor) -> torch.Tensor:
        return self.fuse(self.embed_image(image), self.embed_music(music))


def build_acp(cfg: dict) -> ACPNet:
    """ACP-Net (and Spectrogram-ACP) from a checkpoint's model configuration."""
    return ACPNet(cfg["image_shape"][0], cfg["music_shape"][0], cfg.get("dropout", 0.4),
                  cfg["image_widths"], cfg["music_widths"], cfg["fusion_widths"],
                  cfg.get("subnet_dropout", True), cfg.get("init", "torch"),
                  cfg.get("norm", "none"))


def build_l3(cfg: dict) -> L3Net:
    return L3Net(cfg["music_shape"][0], cfg["crop_frames"], cfg["test_crops"],
                 cfg["l3_channels"], cfg["l3_fusion"])


def build_model(cfg: dict) -> nn.Module:
    """The network a checkpoint's ``config`` describes (see ``trainer.model_config``)."""
    from .registry import get

    return get(cfg.get("model", "acp")).build(cfg)


class Probe(nn.Module):
    """An MLP classifier on frozen embeddings (Table 5)."""

    def __init__(self, dim: int, hidden: tuple[int, ...], n_classes: int,
                 dropout: float = 0.4) -> None:
        super().__init__()
        self.net = mlp([dim, *hidden, n_classes], dropout, last_activation=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

"""Media for the built-in sample, generated so that they carry their mood.

Music: positive songs are fast, in a major key, with bright (many-harmonic) notes and a
beat; neutral songs are slow, soft pentatonic pads; negative songs are slow, in a minor
key, low and dark. Images: positive emotions get warm, saturated, bright scenes with round
shapes; contentment gets pastel landscapes; negative emotions get dark, desaturated
scenes with jagged shapes. Deterministic for a seed. A smoke test, not a data set.
"""

from __future__ import annotations

import numpy as np

from .vocab import SAMPLE_RATE

SR = SAMPLE_RATE
MOODS = {
    # tempo (bpm), scale (semitones from the root), root (Hz), harmonics, note length (beats)
    "positive": (138, (0, 2, 4, 5, 7, 9, 11), 261.63, 8, 0.5),
    "neutral": (66, (0, 2, 4, 7, 9), 196.00, 2, 2.0),
    "negative": (58, (0, 2, 3, 5, 7, 8, 11), 110.00, 3, 1.5),
}
EMOTION_GROUP = {"amusement": "positive", "awe": "positive", "excitement": "positive",
                 "contentment": "neutral", "anger": "negative", "disgust": "negative",
                 "fear": "negative", "sadness": "negative"}


def song(mood: str, seconds: float, seed: int) -> np.ndarray:
    """A mono float32 song at 22,050 Hz whose tempo, mode and timbre follow ``mood``."""
    tempo, scale, root, harmonics, beats = MOODS[mood]
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    out = np.zeros(n, dtype=np.float64)
    beat = 60.0 / tempo
    note_len = beats * beat
    t_note = np.arange(int(note_len * SR)) / SR
    attack = 0.01 if mood == "positive" else 0.25
    env = np.minimum(1.0, t_note / attack) * np.exp(-t_note * (3.0 if mood == "positive" else 0.8))
    degree = 0
    for start in np.arange(0.0, seconds - note_len, note_len):
        degree = int(np.clip(degree + rng.integers(-2, 3), -len(scale), 2 * len(scale)))
        octave, step = divmod(degree, len(scale))
        f = root * 2 ** (octave + scale[step] / 12)
        tone = sum(np.sin(2 * np.pi * f * k * t_note) / k for k in range(1, harmonics + 1))
        if mood == "neutral":  # a soft fifth above
            tone = tone + 0.5 * np.sin(2 * np.pi * f * 1.5 * t_note)
        i = int(start * SR)
        seg = slice(i, min(n, i + len(t_note)))
        out[seg] += (env * tone)[: seg.stop - seg.start]
    if mood == "positive":  # a kick on every beat
        t_kick = np.arange(int(0.15 * SR)) / SR
        kick = np.sin(2 * np.pi * 60 * t_kick) * np.exp(-t_kick * 30)
        for start in np.arange(0.0, seconds - 0.15, beat):
            i = int(start * SR)
            out[i:i + len(kick)] += 1.5 * kick
    if mood == "negative":  # a low drone
        out += 0.4 * np.sin(2 * np.pi * root / 2 * np.arange(n) / SR)
    out += 0.003 * rng.standard_normal(n)
    return (0.8 * out / np.abs(out).max()).astype(np.float32)


def image(emotion: str, seed: int, size: int = 256):
    """A PIL image whose colour and content follow ``emotion`` (Image Emotion's 8 classes)."""
    from PIL import Image, ImageDraw

    group = EMOTION_GROUP[emotion]
    rng = np.random.default_rng(seed)
    shift = sorted(EMOTION_GROUP).index(emotion) * 9  # each emotion its own hue offset
    h = np.linspace(0, 1, size)[:, None, None]
    if group == "positive":
        top, bottom = np.array([255, 200 - shift, 60]), np.array([255, 120, 150 + shift])
    elif group == "neutral":
        top, bottom = np.array([170, 210, 235]), np.array([150, 205, 150])
    else:
        top, bottom = np.array([40 + shift, 40, 50]), np.array([90, 30 + shift // 2, 30])
    pixels = (top * (1 - h) + bottom * h) * np.ones((1, size, 1))
    pixels += rng.normal(0, 6, pixels.shape)
    img = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(4, 9))):
        x, y = rng.integers(0, size, 2)
        r = int(rng.integers(size // 16, size // 5))
        if group == "positive":
            colour = tuple(int(c) for c in rng.integers([200, 100, 0], [256, 256, 120]))
            draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
        elif group == "neutral":
            colour = tuple(int(c) for c in rng.integers([120, 170, 120], [200, 230, 200]))
            draw.rectangle([0, y, size, y + r // 3], fill=colour)
        else:
            colour = tuple(int(c) for c in rng.integers([0, 0, 0], [120, 60, 60]))
            pts = [(int(x + rng.integers(-r, r)), int(y + rng.integers(-r, r))) for _ in range(3)]
            draw.polygon(pts, fill=colour)
            draw.line([(x, y), (x + r, y - r)], fill=(200, 30, 30), width=3)
    return img

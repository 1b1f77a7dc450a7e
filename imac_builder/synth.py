"""Synthetic Last.fm tag data in the real formats: the built-in sample and benchmarks.

Tag strings are built to look like Last.fm's: genres, decades, free-text phrases, names,
and a few thousand emotion phrases including the real pitfalls ("spain", "painting",
"happy hardcore", "happysad", "crusade", "sade", "unhappy", typos).
"""

from __future__ import annotations

import random
import string
from pathlib import Path

import numpy as np

from .tags.emotion import is_candidate
from .tags.lastfm import write_lastfm_db

GENRES = ["rock", "pop", "indie", "electronic", "jazz", "folk", "metal", "hip hop", "soul",
          "blues", "country", "punk", "ambient", "techno", "house", "trance", "reggae",
          "funk", "classical", "alternative", "shoegaze", "grunge", "emo", "disco", "dub",
          "soundtrack", "singer-songwriter", "post-rock", "new wave", "synthpop", "britpop",
          "drum and bass", "dubstep", "trip-hop", "lounge", "bossa nova", "gospel", "ska"]
DESCRIPTORS = ["female vocalists", "male vocalists", "seen live", "favorites", "awesome",
               "beautiful", "chill", "mellow", "love", "cover", "instrumental", "guitar",
               "piano", "acoustic", "catchy", "dance", "oldies", "epic", "dark", "upbeat",
               "romantic", "melancholy", "dreamy", "heavy", "groovy", "summer", "night",
               "driving", "party", "workout", "rainy day", "road trip", "my top songs"]
DECADES = ["60s", "70s", "80s", "90s", "00s", "1970s", "1980s", "1990s"]
EMOTION_WORDS = ["happy", "sad", "calm", "relaxing", "relaxed", "soothing", "energetic",
                 "joyous", "painful", "pain", "sadness", "happiness", "calming", "relax",
                 "relaxation", "painfully"]
PREFIXES = ["", "so ", "very ", "makes me ", "songs that make me ", "really ", "kinda ",
            "this will always make me "]
SUFFIXES = ["", " music", " songs", " song", " vibes", " mood", " tunes", " stuff",
            " and beautiful", " rock", " pop"]
#: Real pitfalls: substring matches that are not emotions, and ambiguous tags.
PITFALLS = ["spain", "Spain", "spanish pop from spain", "painting", "paintings", "painted",
            "paint it black", "t-pain", "T-Pain", "pain of salvation", "painkiller",
            "sade", "Sade", "crusade", "crusader", "marquis de sade", "sadistic",
            "ambassador", "pasadena", "saddle", "unhappy", "happy hardcore",
            "Happy Hardcore", "uk happy hardcore", "happy mondays", "happy birthday",
            "trigger happy", "happysad", "happy-sad", "sad but happy", "calm and sad",
            "happy and relaxing", "excalm", "relaxing but painful"]
#: Emotion tags that Last.fm users apply often, placed high in the benchmark's ranking.
POPULAR = ["sad", "happy", "relaxing", "calm", "energetic", "Sad", "soothing", "Happy",
           "relax", "chillout relax", "sadness", "spain", "joyous", "painting"]
SYLLABLES = ["ka", "lo", "mi", "ran", "tor", "vel", "zu", "bri", "den", "fo", "gul", "hex",
             "jin", "mor", "nel", "qua", "ri", "sto", "tum", "vox", "wy", "xi", "yor", "ze"]


def emotion_tags() -> list[str]:
    """A few thousand realistic emotion phrases (with case variants) plus the pitfalls."""
    out: list[str] = []
    for p in PREFIXES:
        for w in EMOTION_WORDS:
            for s in SUFFIXES:
                t = f"{p}{w}{s}"
                out += [t, t.capitalize(), t.title(), t.upper()]
    seen: set[str] = set()
    return [t for t in PITFALLS + out if not (t in seen or seen.add(t))]


def plain_tags(n: int, rng: random.Random) -> list[str]:
    """``n`` distinct non-emotion tags: genres, decades, phrases and name-like strings."""
    base = GENRES + DESCRIPTORS + DECADES
    base += [f"{d} {g}" for d in DECADES for g in GENRES]
    base += [f"{a} {g}" for a in DESCRIPTORS[:12] for g in GENRES]
    out, seen = [], set()
    for t in base:
        if t not in seen and not is_candidate(t):
            seen.add(t)
            out.append(t)
    while len(out) < n:
        words = [
            "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4)))
            for _ in range(rng.randint(1, 3))
        ]
        t = " ".join(words)
        if rng.random() < 0.3:
            t = t.title()
        if t not in seen and not is_candidate(t):
            seen.add(t)
            out.append(t)
    return out[:n]


def track_ids(n: int, rng: random.Random) -> list[str]:
    """``n`` distinct MSD-style track ids (``TR`` + 16 upper-case letters and digits)."""
    alphabet = string.ascii_uppercase + string.digits
    out: set[str] = set()
    while len(out) < n:
        out.add("TR" + "".join(rng.choices(alphabet, k=16)))
    return sorted(out)


def scale_db(path: Path, n_tracks: int = 505_216, n_tags: int = 522_366,
             n_rows: int = 8_598_630, seed: int = 0, index: bool = True) -> dict[str, int]:
    """Write a ``lastfm_tags.db`` at the real MSD scale (default sizes from the field notes)."""
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    emo = emotion_tags()
    vocab = plain_tags(n_tags - len(emo), rng)
    # Popular emotion tags sit high in the ranking, the rest are scattered through it.
    popular = [t for t in POPULAR if t in emo]
    tags = vocab[:]
    for i, t in enumerate(popular + [t for t in emo if t not in popular]):
        pos = 40 + 25 * i if i < len(popular) else rng.randrange(len(tags))
        tags.insert(min(pos, len(tags)), t)
    tags = tags[:n_tags]
    tids = track_ids(n_tracks, rng)
    counts = np.maximum(1, nrng.lognormal(2.3, 0.9, n_tracks)).astype(np.int64)
    counts = np.maximum(1, np.round(counts * n_rows / counts.sum())).astype(np.int64)
    counts[: abs(n_rows - counts.sum())] += np.sign(n_rows - counts.sum())
    counts = np.maximum(counts, 1)
    counts[-1] += n_rows - counts.sum()
    weights = 1.0 / (np.arange(n_tags) + 20.0) ** 1.05
    tag_of_row = nrng.choice(n_tags, size=n_rows, p=weights / weights.sum())
    vals = nrng.integers(0, 101, size=n_rows).astype(float)
    starts = np.concatenate([[0], np.cumsum(counts)])

    def tracks():
        for i, tid in enumerate(tids):
            a, b = starts[i], starts[i + 1]
            yield tid, zip((tags[j] for j in tag_of_row[a:b]), vals[a:b].tolist(), strict=True)

    write_lastfm_db(path, tracks(), index=index)
    return {"tracks": n_tracks, "tags": len(tags), "rows": int(counts.sum())}


def write_sample(folder: Path, n_tracks: int = 240, seed: int = 2019) -> None:
    """The built-in sample: ``lastfm_tags.db`` and ``unique_tracks.txt`` in the real formats."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    emo = emotion_tags()
    core = {"positive": ["happy", "Happy", "energetic", "joyous", "so energetic", "happy songs"],
            "neutral": ["relaxing", "calm", "soothing", "Chillout relax", "calming music"],
            "negative": ["sad", "Sad", "makes me sad", "sad songs", "painful", "sadness"]}
    plain = plain_tags(300, rng)
    ids = track_ids(n_tracks, rng)
    rows, meta = [], []
    for k, tid in enumerate(ids):
        mood = ("positive", "neutral", "negative", None)[k % 4]
        tags = rng.sample(plain, rng.randint(2, 12))
        if mood is not None:
            tags += rng.sample(core[mood], rng.randint(1, 3))
            if rng.random() < 0.3:
                other = rng.choice([m for m in core if m != mood])
                tags.append(rng.choice(core[other]))
        if rng.random() < 0.25:
            tags.append(rng.choice(emo[: len(PITFALLS)]))
        rows.append((tid, [(t, float(rng.randint(0, 100))) for t in dict.fromkeys(tags)]))
        artist = " ".join(rng.choice(SYLLABLES).title() + rng.choice(SYLLABLES)
                          for _ in range(rng.randint(1, 2)))
        title = " ".join(rng.choice(SYLLABLES) + rng.choice(SYLLABLES)
                         for _ in range(rng.randint(1, 3))).capitalize()
        song = "SO" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=16))
        meta.append(f"{tid}<SEP>{song}<SEP>{artist}<SEP>{title}\n")
    write_lastfm_db(folder / "lastfm_tags.db", rows)
    (folder / "unique_tracks.txt").write_text("".join(meta), encoding="utf-8")


if __name__ == "__main__":  # python -m imac_builder.synth FOLDER: regenerate the sample
    import sys

    write_sample(Path(sys.argv[1]))

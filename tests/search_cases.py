"""Realistic YouTube result lists for real MSD artist/title strings (seeded).

For each song the list mixes what a search really returns: the recording itself
(a "<Artist> - Topic" upload, an official video on a VEVO or the artist's channel,
official audio, lyric videos, plain fan uploads) and what must not be chosen (live
versions, covers, karaoke, remixes, instrumentals, sped-up/8D edits, reactions,
tutorials, the same title by another artist, other songs by the same artist, uploads
of the wrong length, full albums, live streams). For "absent" songs no upload of the
recording is in the list. The truth is kept beside each list.

The video-side view of a title is written here independently of the project's query
cleaner: a simple rule of what YouTube uploads show (commas back, edition suffixes off).
"""

from __future__ import annotations

import csv
import random
import re
import string
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from imac_builder.search.match import Candidate

_EDITION = re.compile(r"\s*[\(\[](?:[^\)\]]*\b(?:Album|LP|Single|Radio|Explicit|Remaster(?:ed)?"
                      r"|Digital|Edit|Mono|Stereo|Version)\b[^\)\]]*)[\)\]]", re.IGNORECASE)
_VERSION_WORDS = ("live", "remix", "mix", "acoustic", "demo", "instrumental", "cover",
                  "karaoke", "session", "unplugged", "reprise")
FANS = ["mrjohn1987", "Lyrics Vault", "7clouds", "Music Lover", "oldies4ever", "xXmusicXx",
        "Sarah K", "TheSoundArchive", "VinylRipper", "dj pete", "Rhythm Room", "RetroHits"]
COVER_NAMES = ["Jane Doe", "Boyce Avenue", "Acoustic Anna", "Tommy Strings", "Mia Lane",
               "Leo Park", "The Garage Band", "Alex G."]
VENUES = ["Wembley", "Glastonbury", "the BBC", "Rock in Rio", "Red Rocks", "Paris",
          "Budokan", "KEXP", "Austin City Limits"]


@dataclass
class Case:
    track_id: str
    artist: str  # raw MSD
    title: str  # raw MSD
    duration: float
    candidates: list[Candidate]
    truth: set[str]  # acceptable video ids (empty when the recording is absent)


def load_msd_songs(folder: Path) -> list[tuple[str, str, str]]:
    """(track_id, artist, title) of every row of the Deezer mood CSVs."""
    out = []
    for name in ("train.csv", "validation.csv", "test.csv"):
        with (folder / name).open(encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                out.append((r["MSD_track_id"], r["artist_name"], r["track_name"]))
    return out


def yt_view_title(title: str) -> str:
    """How uploads usually write an MSD title."""
    t = re.sub(r"(?<=\d)_(?=\d{3})", ",", title).replace("_", ",")
    return re.sub(r"\s+", " ", _EDITION.sub("", t)).strip()


def yt_view_artist(artist: str) -> str:
    a = artist.replace("_", ",")
    a = re.split(r"\s+(?:featuring|feat\.?|ft\.?)\s+", a, flags=re.IGNORECASE)[0]
    m = re.fullmatch(r"(.+?), (The)", a)
    return f"The {m.group(1)}" if m else a.strip()


def _vid(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits + "-_") for _ in range(11))


def _vary_artist(rng: random.Random, a: str, raw: str) -> str:
    """How uploaders write an artist: "The" dropped, "&" and "and" swapped, accents
    lost, the featured artists kept."""
    m = re.search(r"\s(?:featuring|feat\.?|ft\.?)\s(.+)$", raw, re.IGNORECASE)
    if m and rng.random() < 0.5:
        a = f"{a} ft. {m.group(1).replace('_', ',')}"
    if rng.random() < 0.3:
        a = _strip_accents(a)
    if a.lower().startswith("the ") and rng.random() < 0.15:
        a = a[4:]
    if rng.random() < 0.2:
        a = a.replace(" & ", " and ") if " & " in a else a.replace(" and ", " & ")
    return a


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(c))


def _typo(rng: random.Random, text: str) -> str:
    """One letter dropped from one word of four letters or more."""
    words = text.split(" ")
    long = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not long:
        return text
    i = rng.choice(long)
    j = rng.randrange(1, len(words[i]) - 1)
    words[i] = words[i][:j] + words[i][j + 1:]
    return " ".join(words)


def _vary_title(rng: random.Random, t: str) -> str:
    """A subtitle dropped, accents or apostrophes lost, a typo, a remaster note or a
    featured artist added."""
    if "(" in t and rng.random() < 0.5:
        t = re.sub(r"\s*\([^)]*\)", "", t).strip() or t
    if rng.random() < 0.3:
        t = _strip_accents(t)
    if rng.random() < 0.04:
        t = _typo(rng, t)
    r = rng.random()
    if r < 0.12:
        t = t.replace("'", "")
    r = rng.random()
    if r < 0.08:
        t += f" (Remastered {rng.randint(1995, 2015)})"
    elif r < 0.14:
        t += f" - {rng.randint(1995, 2015)} Remaster"
    elif r < 0.22:
        t += f" (feat. {rng.choice(COVER_NAMES)})"
    return t


def _case_style(rng: random.Random, text: str) -> str:
    r = rng.random()
    if r < 0.1:
        return text.upper()
    if r < 0.2:
        return text.lower()
    return text


def build_cases(songs: list[tuple[str, str, str]], n: int, absent_share: float,
                seed: int) -> list[Case]:
    rng = random.Random(seed)
    pool = [s for s in songs if s[1].strip() and s[2].strip()]
    picked = rng.sample(pool, n)
    others = [s for s in pool if s not in picked]
    cases = []
    for i, (tid, artist, title) in enumerate(picked):
        cases.append(_one_case(rng, tid, artist, title, others, absent=i < n * absent_share))
    rng.shuffle(cases)
    return cases


def _one_case(rng: random.Random, tid: str, artist: str, title: str,
              others: list[tuple[str, str, str]], absent: bool) -> Case:
    a0, t0 = yt_view_artist(artist), yt_view_title(title)
    dur = float(rng.randint(140, 420))
    low_title = title.lower()
    chan_squash = re.sub(r"[^A-Za-z0-9]", "", a0)
    true_items: list[tuple[str, str, float]] = []
    kinds = ["topic", "official_video", "official_audio", "lyrics", "fan", "fan_msd"]
    for kind in rng.sample(kinds, rng.randint(1, 3)):
        a, t = _vary_artist(rng, a0, artist), _vary_title(rng, t0)
        if kind == "topic":
            true_items.append((_case_style(rng, t) if rng.random() < 0.2 else t,
                               f"{a} - Topic", dur + rng.choice([0, 0, 1, -1])))
        elif kind == "official_video":
            suffix = rng.choice(["(Official Video)", "(Official Music Video)",
                                 "[Official Video]", "(Official HD Video)", ""])
            chan = rng.choice([f"{chan_squash}VEVO", a, f"{a} Official"])
            true_items.append((f"{a} - {t} {suffix}".strip(), chan, dur + rng.randint(0, 25)))
        elif kind == "official_audio":
            true_items.append((f"{a} - {t} (Official Audio)", a, dur + rng.randint(-2, 2)))
        elif kind == "lyrics":
            fmt = rng.choice(["{a} - {t} (Lyrics)", "{t} - {a} [Lyrics]", "{a} - {t} lyrics",
                              "{a} - {t} (Lyric Video)", '{a} "{t}" Lyrics'])
            true_items.append((fmt.format(a=a, t=t), rng.choice(FANS),
                               dur + rng.randint(-3, 3)))
        elif kind == "fan":
            fmt = rng.choice(["{a} - {t}", "{t} - {a}", "{a} | {t}", "{a} - {t} HQ",
                              "{t} by {a}", "{a}: {t}"])
            true_items.append((_case_style(rng, fmt.format(a=a, t=t)), rng.choice(FANS),
                               dur + rng.randint(-3, 3)))
        else:  # an upload that keeps the MSD title as it is, underscores aside
            true_items.append((f"{a} - {title.replace('_', ',')}", rng.choice(FANS),
                               dur + rng.randint(-2, 2)))

    a, t = a0, t0
    def differs(x: str, y: str) -> bool:  # "Belle & Sebastian" is "Belle and Sebastian"
        def key(z: str) -> str:
            return re.sub(r"[^a-z0-9]", "", _strip_accents(z).lower().replace("&", "and"))
        return key(x) != key(y)

    other_artist = next(o for o in (yt_view_artist(rng.choice(others)[1]) for _ in range(50))
                        if differs(o, a0))
    other_title = next(o for o in (yt_view_title(rng.choice(others)[2]) for _ in range(50))
                       if differs(o, t0))
    name = rng.choice(COVER_NAMES)
    distract = [
        ("live", lambda: (rng.choice([f"{a} - {t} (Live at {rng.choice(VENUES)} "
                                      f"{rng.randint(1970, 2012)})",
                                      f"{a} - {t} [LIVE]", f"{t} (Live) - {a}",
                                      f"{a} performs {t} live"]),
                          rng.choice([a, f"{chan_squash}VEVO", rng.choice(FANS)]),
                          dur + rng.randint(-10, 60))),
        ("cover", lambda: (rng.choice([f"{t} - {a} (Cover by {name})",
                                       f"{name} - {t} ({a} cover)",
                                       f"{t} | {a} | acoustic cover"]),
                           name, dur + rng.randint(-40, 20))),
        ("karaoke", lambda: (rng.choice([f"{a} - {t} (Karaoke Version)",
                                         f"{t} (In the Style of {a}) [Karaoke Version]",
                                         f"{t} - {a} | Karaoke"]),
                             rng.choice(["Sing King Karaoke", "Karaoke Version",
                                         "KaraFun"]), dur + rng.randint(-5, 5))),
        ("remix", lambda: (f"{a} - {t} ({rng.choice(['Dillon', 'K-Lab', 'Sonic'])} Remix)",
                           rng.choice(FANS), dur + rng.randint(30, 150))),
        ("instrumental", lambda: (f"{a} - {t} (Instrumental)", rng.choice(FANS),
                                  dur + rng.randint(-2, 2))),
        ("sped_up", lambda: (f"{a} - {t} (sped up)", rng.choice(FANS), round(dur * 0.8))),
        ("8d", lambda: (f"{a} - {t} (8D AUDIO)", "8D Tunes", dur + rng.randint(-2, 2))),
        ("reaction", lambda: (f"FIRST TIME HEARING {a} - {t} | REACTION",
                              "Reacting Ray", rng.randint(500, 1200))),
        ("tutorial", lambda: (f"How to play {t} by {a} - Guitar Tutorial",
                              "Guitar Lessons 365", rng.randint(400, 1500))),
        ("other_artist", lambda: (f"{other_artist} - {t}", rng.choice(
            [f"{re.sub(r'[^A-Za-z0-9]', '', other_artist)}VEVO", other_artist]),
            rng.randint(140, 420))),
        ("other_artist_topic", lambda: (t, f"{other_artist} - Topic",
                                        dur + rng.randint(-30, 30))),
        ("other_song", lambda: (f"{a} - {other_title} (Official Video)",
                                f"{chan_squash}VEVO", rng.randint(140, 420))),
        ("other_song_topic", lambda: (other_title, f"{a} - Topic", rng.randint(140, 420))),
        ("wrong_length", lambda: (f"{a} - {t}", rng.choice(FANS),
                                  rng.choice([dur * 2.2, dur * 0.35, 3600.0]))),
        ("full_album", lambda: (f"{a} - Greatest Hits (Full Album)", rng.choice(FANS),
                                float(rng.randint(2400, 4800)))),
        ("stream", lambda: (f"{a} - {t} 24/7 stream", rng.choice(FANS), 0.0)),
    ]
    usable = [(k, f) for k, f in distract
              if not (k in _VERSION_WORDS and k in low_title)
              and not any(w in low_title for w in ("live", "remix", "acoustic"))
              or k in ("other_artist", "other_song", "other_song_topic", "full_album")]
    n_distract = rng.randint(4, 9) if not absent else rng.randint(5, 10)
    chosen = rng.sample(usable, min(n_distract, len(usable)))
    items: list[tuple[str, str, float, bool]] = [(*d[1](), False) for d in chosen]
    if not absent:
        items += [(ti, ch, du, True) for ti, ch, du in true_items]
    rng.shuffle(items)
    cands, truth = [], set()
    for rank, (ti, ch, du, ok) in enumerate(items):
        vid = _vid(rng)
        cands.append(Candidate(vid, ti, ch, float(du), rank,
                               f"https://www.youtube.com/watch?v={vid}"))
        if ok:
            truth.add(vid)
    return Case(tid, artist, title, dur, cands, truth)


@dataclass
class Scores:
    present: int
    absent: int
    picked_present: int
    correct: int
    false_on_absent: int

    @property
    def precision(self) -> float:
        picks = self.picked_present + self.false_on_absent
        return self.correct / picks if picks else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.present if self.present else 1.0

    @property
    def false_match_rate(self) -> float:
        return self.false_on_absent / self.absent if self.absent else 0.0

    def line(self) -> str:
        return (f"{self.present} songs with the recording, {self.absent} without: "
                f"correct picks {self.correct}/{self.present} (recall {self.recall:.1%}), "
                f"precision {self.precision:.1%}, false matches on absent songs "
                f"{self.false_on_absent}/{self.absent} ({self.false_match_rate:.1%})")


def evaluate(cases: list[Case], pick) -> tuple[Scores, list[tuple[Case, str | None]]]:
    """Score a chooser ``pick(case) -> video_id | None``; also return the mistakes."""
    s = Scores(0, 0, 0, 0, 0)
    wrong = []
    for c in cases:
        vid = pick(c)
        if c.truth:
            s.present += 1
            if vid is not None:
                s.picked_present += 1
            if vid in c.truth:
                s.correct += 1
            else:
                wrong.append((c, vid))
        else:
            s.absent += 1
            if vid is not None:
                s.false_on_absent += 1
                wrong.append((c, vid))
    return s, wrong

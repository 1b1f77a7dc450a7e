"""Generate tests/data/chooser_audit.json: hand-written candidate templates for real MSD songs.

Written without reading the chooser's rules. Songs: every 35th row of the Deezer mood test.csv
and every 200th line of the MSD subset unique-tracks list. Neither source carries a duration, so
each song's duration is synthetic: a deterministic value in 150..330 s derived from its track id.
About 30% of songs (index % 10 in {2, 5, 8}) are 'absent': their lists hold only impostors.
Run: python tests/make_chooser_audit.py
"""

import csv
import hashlib
import json
import random
import re
from pathlib import Path

DATA = Path("/work/shared/data")
OUT = Path(__file__).parent / "data" / "chooser_audit.json"

FANS = [
    "MusicLover1987",
    "oldies but goldies",
    "Retro Vibes",
    "xXsongsXx",
    "Lyric Land",
    "HQ Music Archive",
    "Kevin Marsh",
    "tunes4u",
    "Vinyl Rips",
    "Night Drive Music",
    "AudioVault",
    "maria g",
]
COVER_ARTISTS = [
    "Jenny Kwan",
    "Boyce Avenue",
    "Tom Harlow",
    "Alyssa Reid",
    "The Mayfield Trio",
    "Luca Bianchi",
    "Sophie Ng",
    "Daniel Ruiz",
    "Hanna Berg",
    "Postmodern Jukebox",
]
KARAOKE = [
    "Sing King",
    "KaraFun",
    "Karaoke Hits",
    "Zoom Karaoke Official",
    "Sing2Piano",
    "Backing Tracks Pro",
]
REMIXERS = [
    "Kygo",
    "DJ Snake",
    "Moonbootica",
    "Felix Jaehn",
    "Kaskade",
    "Purple Disco Machine",
    "Tiesto",
]
LIVE_PLACES = [
    "Live at Glastonbury 2014",
    "MTV Unplugged",
    "BBC Radio 1 Live Lounge",
    "Audiotree Sessions",
    "Later... with Jools Holland",
    "on KEXP",
    "NPR Music Tiny Desk Concert",
    "Rockpalast 1985",
    "at Montreux Jazz Festival",
    "Live from Wembley Stadium",
    "Sofar Sessions",
    "Austin City Limits",
]
SLOW = ["slowed + reverb", "sped up", "8D AUDIO", "Nightcore", "slowed to perfection", "reverb"]
LANGS = [
    "versión en español",
    "Cover en Español",
    "cover em português",
    "versione italiana",
    "Cover by",
]


def synth_duration(key):
    return 150 + int(hashlib.sha1(key.encode()).hexdigest(), 16) % 181


def pick_songs():
    songs = []
    with open(DATA / "deezer-mood-msd/test.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for r in rows[::35]:
        songs.append(
            dict(
                source="deezer-mood-msd/test.csv",
                track_id=r["MSD_track_id"],
                artist=r["artist_name"],
                title=r["track_name"],
            )
        )
    lines = (
        (DATA / "msd-subset-unique-tracks/subset_unique_tracks.txt")
        .read_text(encoding="utf-8")
        .splitlines()
    )
    for ln in lines[::200]:
        tid, _sid, artist, title = ln.split("<SEP>")
        songs.append(
            dict(source="msd-subset-unique-tracks", track_id=tid, artist=artist, title=title)
        )
    return songs


def vid(rng):
    a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "".join(rng.choice(a) for _ in range(11))


def squash(name):
    return re.sub(r"[^A-Za-z0-9]", "", name)


def correct_candidate(rng, a, t, d, i):
    kind = [
        "official_audio",
        "topic",
        "music_video",
        "lyric_video",
        "fan_hq",
        "remastered",
        "radio_edit",
        "plain_artist_channel",
    ][i % 8]
    if kind == "official_audio":
        return kind, f"{a} - {t} (Official Audio)", f"{squash(a)}VEVO", d + rng.choice([0, 1, -1])
    if kind == "topic":
        return kind, t, f"{a} - Topic", d
    if kind == "music_video":
        return (
            kind,
            f"{a} - {t} (Official Music Video)",
            rng.choice([f"{squash(a)}VEVO", a]),
            d + rng.randint(12, 40),
        )
    if kind == "lyric_video":
        return (
            kind,
            f"{a} - {t} (Lyrics)",
            rng.choice(["Lyric Land", "7clouds", "Dan Music"]),
            d + rng.choice([-2, 0, 1, 2]),
        )
    if kind == "fan_hq":
        noise = rng.choice(["(HQ)", "[HD]", "(Audio)", "HQ Audio", "[HQ Sound]"])
        return kind, f"{a} - {t} {noise}", rng.choice(FANS), d + rng.choice([-3, -1, 0, 2, 3])
    if kind == "remastered":
        yr = rng.choice([2009, 2011, 2015, 2019])
        return (
            kind,
            f"{a} - {t} (Remastered {yr})",
            rng.choice([f"{a} - Topic", a, rng.choice(FANS)]),
            d + rng.choice([-2, 0, 1]),
        )
    if kind == "radio_edit":
        return kind, f"{a} - {t} (Radio Edit)", rng.choice([f"{a} - Topic", rng.choice(FANS)]), d
    return kind, f"{t} - {a}", a, d + rng.choice([0, 1, 2])


def impostor(rng, kind, a, t, d, other_titles, other_artists):
    ot = rng.choice(other_titles)
    oa = rng.choice(other_artists)
    fan = rng.choice(FANS)
    if kind == "live_word":
        return (
            f"{a} - {t} (Live)",
            rng.choice([a, f"{squash(a)}VEVO", fan]),
            d + rng.randint(15, 70),
        )
    if kind == "live_noword":
        place = rng.choice(LIVE_PLACES)
        title = rng.choice(
            [f"{a} - {t} ({place})", f"{a} - {t} | {place}", f"{a} performs {t} {place}"]
        )
        return (
            title,
            rng.choice([a, fan, "BBC Music", "KEXP", "NPR Music", "MTV"]),
            d + rng.randint(-5, 60),
        )
    if kind == "cover":
        c = rng.choice(COVER_ARTISTS)
        title = rng.choice(
            [
                f"{t} - {a} (Cover by {c})",
                f"{t} (cover) | {c}",
                f"{a} - {t} | Acoustic Cover",
                f"{c} - {t} ({a} cover)",
            ]
        )
        return title, c, d + rng.randint(-25, 20)
    if kind == "cover_foreign":
        lang = rng.choice(LANGS)
        c = rng.choice(COVER_ARTISTS)
        title = f"{t} - {a} ({lang} {c})" if lang == "Cover by" else f"{t} ({lang}) - {c}"
        return title, c, d + rng.randint(-20, 20)
    if kind == "karaoke":
        ch = rng.choice(KARAOKE)
        title = rng.choice(
            [
                f"{a} - {t} (Karaoke Version)",
                f"{t} - {a} | Karaoke with Lyrics",
                f"{t} (In the Style of {a}) [Karaoke Version]",
            ]
        )
        return title, ch, d + rng.randint(-4, 4)
    if kind == "instrumental":
        title = rng.choice(
            [
                f"{a} - {t} (Instrumental)",
                f"{t} - {a} Backing Track",
                f"{a} - {t} [Instrumental Version]",
            ]
        )
        return title, rng.choice(KARAOKE + [fan]), d + rng.randint(-2, 2)
    if kind == "remix":
        r = rng.choice(REMIXERS)
        tag = rng.choice(
            [f"{r} Remix", "VIP Mix", f"{r} Bootleg", f"{r} Flip", "Club Mix", f"{r} Edit"]
        )
        return (
            f"{a} - {t} ({tag})",
            rng.choice([r, fan, "Trap Nation", "Proximity"]),
            d + rng.randint(-30, 90),
        )
    if kind == "slowed_spedup":
        s = rng.choice(SLOW)
        if s == "Nightcore":
            return f"Nightcore - {t}", "NightcoreReality", int(d * 0.8)
        if s == "sped up":
            return f"{a} - {t} (sped up)", rng.choice(["sped up songs", fan]), int(d * 0.8)
        if s == "8D AUDIO":
            return f"{a} - {t} (8D AUDIO)", "8D Tunes", d + rng.randint(-1, 1)
        return f"{a} - {t} ({s})", rng.choice(["slowed vibes", fan]), int(d * 1.25)
    if kind == "tutorial":
        title = rng.choice(
            [
                f"How to play {t} by {a} - Piano Tutorial",
                f"{t} - {a} | Guitar Lesson (Easy Chords)",
                f"{a} - {t} Drum Cover & Tutorial",
            ]
        )
        return (
            title,
            rng.choice(["Peter PlutaX", "Andy Guitar", "Marty Music", "Drumeo"]),
            rng.randint(300, 1100),
        )
    if kind == "reaction":
        return (
            f"FIRST TIME HEARING {a} - {t} | REACTION",
            rng.choice(["TheDoodleDude", "Lost In Vegas", "Dad Reacts"]),
            rng.randint(480, 1300),
        )
    if kind == "full_album":
        return f"{a} - {ot} (Full Album)", rng.choice([fan, a]), rng.randint(2200, 4200)
    if kind == "mashup":
        return (
            f"{t} x {ot} (Mashup) - {a} & {oa}",
            rng.choice(["Pegboard Nerds", fan, "MashupMixes"]),
            d + rng.randint(-40, 40),
        )
    if kind == "medley":
        return f"{a} Medley: {t} / {ot}", rng.choice([fan, a]), rng.randint(400, 900)
    if kind == "loop_1h":
        return (
            f"{a} - {t} [1 HOUR LOOP]",
            rng.choice(["1 Hour Music", fan]),
            3600 + rng.randint(0, 30),
        )
    if kind == "same_artist_other_song":
        return (
            rng.choice([f"{a} - {ot} (Official Audio)", ot, f"{a} - {ot}"]),
            rng.choice([f"{a} - Topic", f"{squash(a)}VEVO", a]),
            d + rng.randint(-15, 15),
        )
    if kind == "same_title_other_artist":
        return (
            rng.choice([f"{oa} - {t} (Official Audio)", t, f"{oa} - {t}"]),
            rng.choice([f"{oa} - Topic", oa, f"{squash(oa)}VEVO"]),
            d + rng.randint(-10, 10),
        )
    if kind == "tiktok":
        return (
            f"{a} - {t} (TikTok Version)",
            rng.choice(["TikTok Songs", fan]),
            rng.randint(50, 120),
        )
    if kind == "acapella":
        return f"{a} - {t} (Acapella)", rng.choice(["Acapellas 4U", fan]), d + rng.randint(-3, 3)
    if kind == "demo":
        return (
            f"{a} - {t} (Demo Version)",
            rng.choice([f"{a} - Topic", fan]),
            d + rng.randint(-30, 30),
        )
    if kind == "extended":
        return (
            f"{a} - {t} (Extended Version)",
            rng.choice([f"{a} - Topic", fan]),
            d + rng.randint(120, 300),
        )
    if kind == "trailer_interview":
        return (
            rng.choice(
                [
                    f"{a} - {t} (Official Trailer)",
                    f"{a} talks about '{t}' | Interview",
                    f"The story behind {t} - {a}",
                ]
            ),
            rng.choice([a, "Genius", "Apple Music"]),
            rng.choice([45, 90, 420, 780]),
        )
    if kind == "parody":
        return (
            f'{t} PARODY - "{ot}"',
            rng.choice(["Bart Baker", "The Key of Awesome"]),
            d + rng.randint(-10, 20),
        )
    if kind == "dance":
        return (
            f"{a} - {t} | Choreography by {rng.choice(['Kyle Hanagami', 'Jane Kim'])}",
            "1MILLION Dance Studio",
            d + rng.randint(-60, 10),
        )
    if kind == "reimagined":
        return f"{a} - {t} (Reimagined)", rng.choice([f"{a} - Topic", a]), d + rng.randint(-30, 30)
    if kind == "orchestral":
        return (
            f"{t} - {a} (Orchestral Version)",
            rng.choice(["Vitamin String Quartet", fan, "Epic Orchestra"]),
            d + rng.randint(-20, 40),
        )
    raise ValueError(kind)


KINDS = [
    "live_word",
    "live_noword",
    "cover",
    "cover_foreign",
    "karaoke",
    "instrumental",
    "remix",
    "slowed_spedup",
    "tutorial",
    "reaction",
    "full_album",
    "mashup",
    "medley",
    "loop_1h",
    "same_artist_other_song",
    "same_title_other_artist",
    "tiktok",
    "acapella",
    "demo",
    "extended",
    "trailer_interview",
    "parody",
    "dance",
    "reimagined",
    "orchestral",
]


def main():
    songs = pick_songs()
    titles = [s["title"] for s in songs]
    artists = sorted({s["artist"] for s in songs})
    out = []
    for i, s in enumerate(songs):
        rng = random.Random(f"audit-{s['track_id']}")
        a, t = s["artist"], s["title"]
        d = synth_duration(s["track_id"])
        present = i % 10 not in (2, 5, 8)
        other_titles = [x for x in titles if x.lower() != t.lower()]
        other_artists = [x for x in artists if x.lower() != a.lower()]
        # every kind appears about equally: rotate through KINDS, plus two random extras
        n = rng.randint(5, 8)
        kinds = [KINDS[(i * 3 + j) % len(KINDS)] for j in range(n - 2)] + rng.sample(KINDS, 2)
        cands = []
        for k in kinds:
            title, ch, dur = impostor(rng, k, a, t, d, other_titles, other_artists)
            cands.append(
                dict(
                    title=title,
                    channel_title=ch,
                    duration=max(20, int(dur)),
                    label="impostor",
                    kind=k,
                )
            )
        rng.shuffle(cands)
        if present:
            k, title, ch, dur = correct_candidate(rng, a, t, d, i)
            pos = rng.choice([0, 0, 1, 1, 2, 3, 4])
            cands.insert(
                min(pos, len(cands)),
                dict(title=title, channel_title=ch, duration=int(dur), label="correct", kind=k),
            )
        for r, c in enumerate(cands, 1):
            c["video_id"] = vid(rng)
            c["rank"] = r
        out.append(
            dict(
                id=s["track_id"],
                source=s["source"],
                artist=a,
                title=t,
                duration=d,
                duration_synthetic=True,
                present=present,
                candidates=cands,
            )
        )
    OUT.write_text(
        json.dumps({"note": __doc__.strip(), "songs": out}, indent=1, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    print(len(out), sum(x["present"] for x in out))


if __name__ == "__main__":
    main()

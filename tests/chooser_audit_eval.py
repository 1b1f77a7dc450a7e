"""Run the chooser over tests/data/chooser_audit.json and tally the outcome.

See test_chooser_audit.py for the measured figures.
"""

import json
from collections import Counter
from pathlib import Path

from imac_builder.search.match import Candidate, MatchConfig, choose

DATA = Path(__file__).parent / "data" / "chooser_audit.json"



def _example(kind: str, song: dict, picked: dict) -> tuple:
    """One miss, as the report lists it."""
    return (kind, song["artist"], song["title"], song["duration"], picked["title"],
            picked["channel_title"], picked["duration"])

def evaluate(path=DATA):
    songs = json.loads(Path(path).read_text(encoding="utf-8"))["songs"]
    cfg = MatchConfig()
    r = dict(
        present=0,
        correct=0,
        wrong=0,
        no_match=0,
        absent=0,
        false_match=0,
        wrong_kinds=Counter(),
        false_kinds=Counter(),
        missed_correct_kinds=Counter(),
        correct_kinds=Counter(),
        examples=[],
    )
    for s in songs:
        cands = [
            Candidate(
                video_id=c["video_id"],
                title=c["title"],
                channel_title=c["channel_title"],
                duration=c["duration"],
                rank=c["rank"],
                url="https://www.youtube.com/watch?v=" + c["video_id"],
            )
            for c in s["candidates"]
        ]
        by_id = {c["video_id"]: c for c in s["candidates"]}
        dec = choose(s["artist"], s["title"], s["duration"], cands, cfg)
        picked = by_id[dec.best.candidate.video_id] if dec.status == "matched" else None
        if s["present"]:
            r["present"] += 1
            ck = next(c["kind"] for c in s["candidates"] if c["label"] == "correct")
            r["correct_kinds"][ck] += 1
            if picked is None:
                r["no_match"] += 1
                r["missed_correct_kinds"][ck] += 1
            elif picked["label"] == "correct":
                r["correct"] += 1
            else:
                r["wrong"] += 1
                r["wrong_kinds"][picked["kind"]] += 1
                r["examples"].append(_example("wrong", s, picked))
        else:
            r["absent"] += 1
            if picked is not None:
                r["false_match"] += 1
                r["false_kinds"][picked["kind"]] += 1
                r["examples"].append(_example("false", s, picked))
    # stricter probe: each impostor on its own, as the only candidate; how often is it accepted?
    r["solo_total"], r["solo_accepted"] = Counter(), Counter()
    for s in songs:
        for c in s["candidates"]:
            if c["label"] != "impostor":
                continue
            cand = Candidate(
                video_id=c["video_id"],
                title=c["title"],
                channel_title=c["channel_title"],
                duration=c["duration"],
                rank=1,
                url="",
            )
            r["solo_total"][c["kind"]] += 1
            if choose(s["artist"], s["title"], s["duration"], [cand], cfg).status == "matched":
                r["solo_accepted"][c["kind"]] += 1
                r["examples"].append(
                    (
                        "solo",
                        s["artist"],
                        s["title"],
                        s["duration"],
                        c["title"],
                        c["channel_title"],
                        c["duration"],
                    )
                )
    return r


if __name__ == "__main__":
    r = evaluate()
    print(
        f"present {r['present']}: correct {r['correct']}, wrong version {r['wrong']}, "
        f"no match {r['no_match']}"
    )
    print(f"absent {r['absent']}: false matches {r['false_match']}")
    print("wrong picks by kind:", dict(r["wrong_kinds"]))
    print("false matches by kind:", dict(r["false_kinds"]))
    print(
        "no-match by correct kind:", dict(r["missed_correct_kinds"]), "of", dict(r["correct_kinds"])
    )
    print(
        "impostors accepted when alone:",
        sum(r["solo_accepted"].values()),
        "of",
        sum(r["solo_total"].values()),
        dict(r["solo_accepted"]),
    )
    for e in r["examples"]:
        print("  ", e)

"""Choosing a song's video among search results, and saying why.

Each candidate gets a score from 0 to 100: how well its title (and channel) carry the
MSD title and artist (rapidfuzz), a credit for official channels ("<Artist> - Topic",
"<Artist>VEVO", the artist's own), a penalty when its duration disagrees with the MSD
duration, and a penalty for each word that marks another version of the song (live,
cover, karaoke, ...) unless the MSD title itself carries that word. Beyond that fixed
list, every *qualifier* the video's title adds that the song's own artist and title do
not explain ("(Stripped)", "- Extended Mix", "| Sofar London", "(Versión en Español)")
counts against it, once per bracketed or separated part, so a kind of version nobody
listed is still held back; known noise ("official video", "remastered", "HD", "lyrics",
a year, a featured artist, a soundtrack's "(From ...)") explains itself. A song is matched
to its best candidate when that candidate passes every threshold; otherwise it is
``no_match`` and the reason names the best candidate and what held it back.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from ..vocab import watch_url
from .query import MAX_TEXT, clean_artist, clean_title, fold

#: Words and phrases that mark a video as something other than the studio recording.
DEFAULT_PENALTY_WORDS: tuple[str, ...] = (
    "live", "cover", "covers", "covered", "karaoke", "remix", "instrumental", "sped up",
    "slowed", "nightcore", "8d", "reaction", "reacts", "tutorial", "lesson",
    "how to play", "acoustic", "unplugged", "backing track", "in the style of",
    "bass boosted", "mashup", "parody", "full album", "concert", "rehearsal", "demo",
    "1 hour", "10 hours", "loop", "piano version", "chords", "tabs", "tribute",
)

#: Bracketed or trailing parts of video titles that say nothing about the recording.
_NOISE = (
    "official music video", "official video", "official audio", "official lyric video",
    "official lyrics video", "official visualizer", "official visualiser", "music video",
    "lyric video", "lyrics video", "with lyrics", "lyrics", "lyric", "audio", "video",
    "audio only", "official", "visualizer", "visualiser", "hd", "hq", "4k", "1080p", "720p",
    "remastered",
    "remaster", "remasterizado", "explicit", "clean", "album version", "radio edit",
    "single version", "original version", "stereo", "mono", "videoclip", "clip officiel",
    "mv", "m v", "high quality", "full song", "subtitulado", "letra", "legendado",
    "original mix", "bonus track", "sub espanol", "subtitulada", "traducida", "traduccion",
    "legendada", "paroles", "testo", "songtext", "with lyrics", "officiel", "oficial",
    "video oficial", "video ufficiale", "offizielles video", "hq audio", "hd audio",
    "performance video", "clip video", "clip officiel", "clipe", "clipe oficial",
    "video clip", "videoclip oficial", "hq sound", "hd sound", "music video edit",
    "video edit", "official music video edit", "audio oficial", "audio officiel",
    "official hd video", "lyrical",
    "lyrical video", "video song", "full video", "full video song", "full audio",
    "audio song", "visual", "official visual", "animated video", "vertical video",
    "remastered version", "remastered audio", "remastered video", "4k remaster",
    "hd remaster", "extended version", "single version", "enhanced",
    "enhanced music video", "track", "video musical", "promo", "official promo",
    "promo video", "new song", "latest song", "new video", "audio stream",
    "official audio stream", "clean version", "explicit version", "dirty version",
    "re mastered", "oficiel", "hd upgrade", "fan video", "official fan video", "fan made",
    "fanmade", "w lyrics", "with lyric", "clip oficial", "restored", "hq restored",
    "color coded", "color coded lyrics", "hit song", "latest hit song", "full",
    "original video", "video original", "official release", "vinyl video",
    "official vinyl video", "video animation", "animated", "in stores now",
    # localised "official (music) video" and friends (folded: no accents)
    "offizielles musikvideo", "offizielles video", "musikvideo", "video officielle",
    "clip officiel", "video clip officiel", "clip video officiel", "videoclipe",
    "videoclipe oficial", "video clipe", "video clipe oficial", "clipe original",
    "videoclip ufficiale", "video ufficiale", "videoclip officiel", "video oficial hd",
    "officiele video", "officiele videoclip", "resmi video", "resmi klip", "klip",
    "video klip", "video klip resmi", "video lirik", "lirik video", "lirik",
    "oficjalny teledysk", "teledysk", "musikk video", "video musical oficial",
    "official mv", "뮤직비디오", "공식", "公式", "官方", "官方完整版", "完整版", "高畫質",
    "官方版", "高清", "ミュージックビデオ", "歌詞",
    # what an upload says of itself, not of the recording
    "song", "songs", "video release", "release", "official video release", "soundtrack",
    "original soundtrack", "ost", "uncensored", "censored", "edited", "widescreen",
    "directors cut", "director s cut", "closed captioned", "cc", "chyron", "clip",
    "original", "con letra", "letra oficial", "subtitulos", "english lyrics",
    "exclusive", "premiere", "world premiere", "out now", "new", "latest", "fps", "60 fps",
    "hd 720", "hd 1080", "720", "1080", "480", "360 visualizer", "visualizador",
    "visualizador oficial", "videolyric", "video lyric", "art track",
)
#: Longest phrases first: "full video song" before "full video".
_NOISE = tuple(sorted(dict.fromkeys(_NOISE), key=len, reverse=True))


def _trie(phrases: Sequence[str]) -> str:
    """One regex alternation for many phrases, as a character trie: the same matches as
    ``a|b|...`` with the longest phrases first, found several times faster."""
    root: dict = {}
    for p in phrases:
        node = root
        for ch in p:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:
        end = "" in node
        alts = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        if end:
            return "(?:" + body + ")?"
        return body

    return emit(root)


_NOISE_RE = re.compile(r"\b(?:" + _trie(_NOISE) + r")\b")
_REMASTER_RE = re.compile(
    r"[-–]?\s*\b(?:(?:19|20)\d\d\s+(?:digital\s+)?re-?master(?:ed)?|"
    r"re-?master(?:ed)?\s+(?:in\s+)?(?:19|20)\d\d)\b", re.IGNORECASE)
_YEAR_RE = re.compile(r"\b(?:19|20)\d\d\b")
_BRACKET_RE = re.compile(r"[\(\[\{【「『〔]([^\)\]\}】」』〕]*)[\)\]\}】」』〕]")
_FEAT_RE = re.compile(r"(?:\b(?:feat|ft|featuring)\b\.?|\bw/\s)[^\-\(\)\[\]|]*", re.IGNORECASE)
#: A featured-artist part in brackets: only names ("(feat. Acoustic Anna)"). Outside
#: brackets a "ft. ..." part runs to the end and may carry a version ("ft. X Live").
_BRACKET_FEAT_RE = re.compile(
    r"[\(\[]\s*(?:(?:feat|ft|featuring|with)\b\.?|w/\s)[^\)\]]*[\)\]]", re.IGNORECASE)
_CHANNEL_SUFFIX = re.compile(
    r"(?:\s*-\s*topic|vevo|\s*official(?:\s+channel)?|\s*music|\s*tv|\s*channel)\s*$",
    re.IGNORECASE)
_THE = re.compile(r"^the ")
#: A video longer or shorter than the MSD duration by more than the tolerance plus this
#: share of it is another version (a live take, an extended mix), even when its title
#: looks like the recording's. A music video may carry an intro (up to about 35 % off
#: passes); a "Topic" upload is the release's own audio, so it must agree within about
#: 20 % (a live album's track often has the studio title and a longer duration).
FAR_OFF = 0.25
FAR_OFF_TOPIC = 0.1
#: Words that join a title's parts and qualify nothing ("Song by Artist").
_JOINERS = frozenset({"by", "the", "a", "an", "and", "of", "de", "la", "le", "el", "with",
                      "x"})
_PARTS_RE = re.compile(r"[\(\[\{【「『〔]([^\)\]\}】」』〕]*)[\)\]\}】」』〕]|\s[-–—|:~]\s|"
                       r"\s*[|•]\s*|:\s")

#: Names joined into an artist list: "A, B & C", "A x B", "A feat. B", "A e B", "A、B".
_NAME_JOINERS = re.compile(
    r"\s*(?:,|&|\+|、|・|✖|×|\s/\s|\band\b|\bx\b|\bwith\b|\bfeat\b\.?|\bft\b\.?|\bfeaturing\b|"
    r"\bw/|\by\b|\be\b|\bet\b|\bund\b|\bcon\b|\bvs\b\.?)\s*", re.IGNORECASE)
#: Pictographs and dingbats set between a title's parts ("Santa Baby 💖 EARTHA KITT").
_EMOJI = "[\u2600-\u27bf\U0001f300-\U0001faff]"
#: Parts of a title a song title may stand alone in.
#: (a dash with a space on one side only too: "… CF- Salgo a Buscarte", "#10 -Recomeçar -")
_SEG_PLAIN = (r"\s[-–—~|*]\s|\s[-–—](?=[^\W\d])|(?<=[^\W\d])[-–—]\s|\s*[|｜•]\s*|:\s|"
              r"[\"“”«»「」『』【】\[\]\(\)]|\s*" + _EMOJI + r"+\s*")
_QUOTE_OPEN = re.compile(r"(?:^|\s)['‘]")
_QUOTE_CLOSE = re.compile(r"['’](?:\s|$)")
_SEG_RE = re.compile(_SEG_PLAIN + r"|(?:^|\s)['‘]|['’](?:\s|$)")
#: The same without single quotes: a word-final apostrophe is an elision ("Kissin' In The
#: Cold", "Cookies N' Cream") unless another quote opens before it.
_SEG_NO_QUOTES = re.compile(_SEG_PLAIN)

_TRACK_NO = re.compile(r"^\s*\d{1,2}\s*[.)]\s+")
_TRACK_RE = re.compile(r"\btrack\s+\d{1,2}\b", re.IGNORECASE)
_PART_ABBR = re.compile(r"\bPt\.?\s+(?=[0-9IVX])", re.IGNORECASE)
_CREW_RE = re.compile(r"(?:🎥\s*|\b(?:shot|dir\.?|directed|filmed|edited|prod\.?|produced)"
                      r"(?:\s*(?:&|and)\s*(?:shot|directed|filmed|edited|produced))*\s+)by\b\.?"
                      r"[^\-–—|\(\)\[\]]*", re.IGNORECASE)
_CJK = r"\u1100-\u11ff\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff"
_SCRIPT_EDGE = re.compile(rf"(?<=[A-Za-z0-9])(?=[{_CJK}])|(?<=[{_CJK}])(?=[A-Za-z0-9])")
#: Channels of record labels: evidence for an official upload (with the artist named
#: in the title).
_LABEL_RE = re.compile(
    r"\b(?:records|recordings|music group|entertainment|labels?|t-series|sony music\w*|"
    r"universal music\w*|warner\w*|zee music\w*|yrf|tips official|saregama\w*|aditya music|"
    r"lahari\w*|speed records|hybe|smtown|jyp\w*|1thek|stone music\w*|rhino|spinnin\w*|"
    r"monstercat|ultra music|armada\w*|atlantic|interscope|columbia|capitol|def jam|"
    r"island|republic|rca|epic|emi\w*|parlophone|elektra|geffen|motown|big machine|"
    r"sub pop|domino|ninja tune|mercury|polydor|virgin|bmg|believe|dharma|88rising|"
    r"the orchard|musicgroup|decca|motown|stax|chess|sun records|think music\w*|"
    r"sony music south|eros now|shemaroo|venus|ishtar music|divo|muzik ?247|junglee music|"
    r"times music|tips music|sun tv|sun pictures|white hill\w*|geet mp3|"
    r"desi music factory|speed records|saregama\w*)\b", re.IGNORECASE)
#: Words that name another performance, whether in the title or the channel: a TV
#: show, a radio or web session, a festival (beyond ``penalty_words``, not configurable).
VERSION_MARKERS: tuple[str, ...] = (
    "late show", "tonight show", "late late show", "kimmel", "colbert", "fallon",
    "jools holland", "graham norton", "saturday night live", "snl", "today show",
    "good morning america", "bbc radio", "live lounge", "kexp", "tiny desk", "npr music",
    "audiotree", "sofar", "session", "sessions", "a colors show", "blogotheque",
    "like a version", "triple j", "festival", "lollapalooza", "glastonbury", "coachella",
    "rock in rio", "tomorrowland", "en vivo", "ao vivo", "en directo", "en concierto",
    "dal vivo", "top of the pops", "totp", "the voice", "x factor", "got talent",
    "ed sullivan", "soul train", "musikladen", "beat club", "vevo dscvr", "vevo lift",
    "one take", "busking", "choreography", "choreo", "dance practice", "dance cover",
    "dance studio", "fancam", "made famous by", "originally performed by",
    "originally by", "as performed by", "style of", "tribute to",
    # TV shows and broadcasters' music programmes, awards ceremonies
    "music bank", "inkigayo", "m countdown", "show champion", "music core", "toppop",
    "hitparade", "fernsehgarten", "wetten dass", "sanremo", "eurovision", "letterman",
    "jay leno", "arsenio", "american idol", "la voz", "later with", "whistle test",
    "rockpalast", "austin city limits", "awards", "grammys", "grammy", "vmas", "zdf",
    "mnet", "mtv", "vh1",
)
#: Words by which a title says it is a video (a music video may have an intro).
_VIDEO_WORDS = frozenset({"video", "mv", "clip", "clipe", "videoclip", "visualizer",
                          "visualiser", "film"})
#: Noise words whose misspellings are noise too ("Officical Video").
_TYPO_NOISE = frozenset({"official", "oficial", "officiel", "video", "lyrics", "audio"})
#: Duration evidence: within CLOSE_S seconds counts for the candidate (DURATION_CREDIT
#: points); more than BARE_OFF of the song's length off under a bare title is another
#: take of the song (a live or alternative recording titled like the release).
CLOSE_S = 5.0
DURATION_CREDIT = 3.0
BARE_OFF = 0.12
#: An unexplained part that names no other version ("(Shadow Video)", "(US Version)")
#: costs this share of ``qualifier_penalty``; one naming a version fails the candidate.
HARMLESS_SHARE = 1 / 3


_SPACE_RUN = re.compile(r"\s{2,}")
#: "<3" is a heart, not a number; "D.T.N" is the acronym "DTN".
_HEART = re.compile(r"<3+\b")
_DOTTED = re.compile(r"\b(?:[A-Za-z]\.){2,}[A-Za-z]?\b\.?")


def _prep(text: str) -> str:
    """A title as compared: full-width forms folded (NFKC), no leading track number
    ("12. "), a space where Latin meets CJK or Hangul ("MAYDAY五月天")."""
    t = _SPACE_RUN.sub(" ", unicodedata.normalize("NFKC", (text or "")[:MAX_TEXT]))
    t = _PART_ABBR.sub("Part ", _HEART.sub(" ", t))
    t = _DOTTED.sub(lambda m: m.group(0).replace(".", ""), t)
    return _SCRIPT_EDGE.sub(" ", _TRACK_NO.sub("", t))


@lru_cache(maxsize=4096)
def _name_re(words: tuple[str, ...]) -> re.Pattern:
    """A name's folded words as written in a title: any punctuation or none between them
    ("TomorrowlandMusic", "Positiva-Mente Music")."""
    return re.compile(r"(?<!\w)" + r"[\W_]*".join(map(re.escape, words)) + r"(?!\w)",
                      re.IGNORECASE)


def _is_topic(channel: str) -> bool:
    """A YouTube "<Artist> - Topic" channel: the release's own audio."""
    return channel.strip().lower().endswith("- topic")


def _without_channel(title: str, channel: str, song: str, names: tuple[str, ...]) -> str:
    """A video title without its uploader's own name ("Abstrakt - Nobody Else * Positiva
    Mente Music" on POSITIVA MENTE MUSIC), which says nothing of the recording; kept
    when the channel's name is in the song's folded artist and title (``song``) or
    leads the title (the lead artist's slot), and when it holds one of the song's
    artists (``names``: "Cocomelon - Nursery Rhymes" for CoComelon)."""
    words = fold(channel).split()
    if (len("".join(words)) < 5 or f" {' '.join(words)} " in f" {song} "
            or _names_in(" ".join(words), names)):
        return title
    pat = _name_re(tuple(words))
    m = pat.search(title)
    if not m or not fold(title[:m.start()]):  # the lead slot: "John Deejay ft. X - Bad"
        return title
    rest = pat.sub(" ", title)
    return rest if fold(rest) else title


def _strip_credits(title: str) -> str:
    """A video title without its crew credits ("🎥 By Ryan Lynch", "Prod. By X",
    "Shot by Y"), each up to the next separator."""
    return _TRACK_RE.sub(" ", _CREW_RE.sub(" ", title))


def _script(word: str) -> str:
    """The writing system of a folded word ("" for digits only)."""
    for ch in word:
        if ch.isalpha():
            if ch.isascii():
                return "latin"
            name = unicodedata.name(ch, "other ").split()[0]
            return "cjk" if name in ("CJK", "HIRAGANA", "KATAKANA") else name.lower()
    return ""


@dataclass(frozen=True)
class MatchConfig:
    """Thresholds and weights of the chooser (the ``[search]`` table of a pipeline)."""

    min_score: float = 75.0
    min_title: float = 80.0
    min_artist: float = 70.0
    duration_tolerance: float = 15.0
    duration_tolerance_pct: float = 10.0
    version_penalty: float = 30.0
    qualifier_penalty: float = 30.0
    official_bonus: float = 5.0
    penalty_words: tuple[str, ...] = DEFAULT_PENALTY_WORDS

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["penalty_words"] = list(self.penalty_words)
        return d


@dataclass(frozen=True)
class Candidate:
    """One search result (an element of ``candidates`` in ``candidates.jsonl``)."""

    video_id: str
    title: str
    channel_title: str
    duration: float | None
    rank: int
    url: str
    #: What a structured backend (YouTube Music) says of the recording: its artists, its
    #: album and the result type ("song": the release audio; "video": an upload).
    artists: tuple[str, ...] = ()
    album: str | None = None
    result_type: str | None = None

    def to_dict(self) -> dict:
        d = {"video_id": self.video_id, "title": self.title,
             "channel_title": self.channel_title, "duration": self.duration,
             "rank": self.rank, "url": self.url}
        if self.artists or self.album or self.result_type:
            d.update(artists=list(self.artists), album=self.album,
                     result_type=self.result_type)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Candidate:
        """A stored candidate (``to_dict``'s shape); TypeError names a field of another
        JSON type (a list for a title, ``true`` for a rank) instead of converting it."""
        dur, rank, arts = d.get("duration"), d.get("rank", 0), d.get("artists") or []
        if dur is not None and (isinstance(dur, bool) or not isinstance(dur, (int, float))):
            raise TypeError("duration")
        if isinstance(rank, bool) or not isinstance(rank, int):
            raise TypeError("rank")
        if not isinstance(arts, list) or not all(isinstance(a, str) for a in arts):
            raise TypeError("artists")
        return cls(video_id=_text(d, "video_id", required=True),
                   title=_text(d, "title"), channel_title=_text(d, "channel_title"),
                   duration=None if dur is None else float(dur), rank=rank,
                   url=_text(d, "url") or watch_url(d["video_id"]),
                   artists=tuple(a for a in arts if a),
                   album=_text(d, "album") or None,
                   result_type=_text(d, "result_type") or None)


def _text(d: dict, key: str, required: bool = False) -> str:
    """A text field of a stored candidate: a string (absent or null: "")."""
    v = d[key] if required else d.get(key)
    if v is None:
        return ""
    if not isinstance(v, str):
        raise TypeError(key)
    return v


@dataclass
class Scored:
    """A candidate's score and its parts."""

    candidate: Candidate
    score: float
    title: float
    artist: float
    official: str = ""
    penalties: list[str] = field(default_factory=list)
    duration_note: str = ""
    qualifiers: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    raw: float = 0.0  # the score before clipping to 0-100, for ordering
    #: unexplained parts that name no other version: they cost points, never fail
    harmless: list[str] = field(default_factory=list)

    def explain(self) -> str:
        parts = [f"title {self.title:.0f}", f"artist {self.artist:.0f}"]
        if self.official:
            parts.append(f"official channel ({self.official})")
        if self.duration_note:
            parts.append(self.duration_note)
        if self.penalties:
            parts.append("penalised " + ", ".join(f"'{p}'" for p in self.penalties))
        if self.qualifiers:
            parts.append("unexplained " + ", ".join(f"'{q}'" for q in self.qualifiers))
        if self.harmless:
            parts.append("unexplained but harmless " +
                         ", ".join(f"'{q}'" for q in self.harmless))
        parts.append(f"rank {self.candidate.rank}")
        return "; ".join(parts)


@dataclass
class Decision:
    """The chooser's verdict on one song."""

    status: str  # "matched" or "no_match"
    best: Scored | None
    reason: str
    #: every candidate's score, in the order the candidates were given
    scored: list[Scored] = field(default_factory=list)


@lru_cache(maxsize=4096)
def _noise_re(keep: str) -> re.Pattern:
    """The noise pattern without the phrases the song's own title uses ("Do It Clean")."""
    own = f" {keep} "
    phrases = [n for n in _NOISE if f" {n} " not in own]
    if len(phrases) == len(_NOISE):
        return _NOISE_RE
    return re.compile(r"\b(?:" + _trie(phrases) + r")\b")


def _strip_noise(title: str, keep: str) -> tuple[str, str]:
    """A video title without noise brackets, featured artists and noise words, folded;
    and the same without any bracketed part.

    ``keep`` is the folded artist and title of the song: noise words they use stay.
    """
    return _strip_noise_with(title, _noise_re(keep))


@lru_cache(maxsize=8192)
def _strip_noise_with(title: str, noise: re.Pattern) -> tuple[str, str]:

    def bracket(m: re.Match) -> str:
        inner = fold(m.group(1))
        rest = _YEAR_RE.sub("", noise.sub("", inner)).strip()
        return " " if not rest else f" ( {inner} ) "

    t = _FEAT_RE.sub(" ", _REMASTER_RE.sub(" ", title))
    full = fold(noise.sub(" ", fold(_BRACKET_RE.sub(bracket, t))))
    short = fold(noise.sub(" ", fold(_BRACKET_RE.sub(" ", t))))
    return full, short


def _drop_brackets(text: str) -> str:
    return fold(_BRACKET_RE.sub(" ", text))


def _squash(text: str) -> str:
    return _THE.sub("", fold(text)).replace(" ", "")


def _window(needle: str, hay: str) -> tuple[float, int, int]:
    """Best similarity of ``needle`` to a run of whole words of ``hay`` and that run."""
    from rapidfuzz import fuzz

    nw, hw = needle.split(), hay.split()
    best = (0.0, 0, 0)
    if not nw or not hw:
        return best
    squashed = needle.replace(" ", "")
    for k in {max(1, len(nw) - 1), len(nw), len(nw) + 1}:
        for i in range(0, max(1, len(hw) - k + 1)):
            run = hw[i:i + k]
            sc = max(fuzz.ratio(needle, " ".join(run)), fuzz.ratio(squashed, "".join(run)))
            if sc > best[0]:
                best = (sc, i, i + len(run))
    return best


def _remove(needle: str, hay: str) -> tuple[str, float]:
    """``hay`` without its best match of ``needle`` (whole words), and that match's score."""
    best_rest, best = hay, 0.0
    for name in dict.fromkeys((needle, _THE.sub("", needle))):
        if not name:
            continue
        padded = f" {hay} "
        if f" {name} " in padded:
            return fold(padded.replace(f" {name} ", " ", 1)), 100.0
        sc, i, j = _window(name, hay)
        if sc > best:
            words = hay.split()
            best, best_rest = sc, " ".join(words[:i] + words[j:])
    return (best_rest, best) if best >= 80 else (hay, best)


_CONNECTORS = {"by", "from", "de", "von", "performs", "performing"}


def _trim(text: str) -> str:
    w = text.split()
    while w and w[0] in _CONNECTORS:
        w = w[1:]
    while w and w[-1] in _CONNECTORS:
        w = w[:-1]
    return " ".join(w)


def _seg_split(title: str) -> list[str]:
    """A title split into its parts (:data:`_SEG_RE`); single quotes only when paired."""
    m = _QUOTE_OPEN.search(title)
    quoted = m is not None and _QUOTE_CLOSE.search(title, m.end()) is not None
    return (_SEG_RE if quoted else _SEG_NO_QUOTES).split(title)


def _segments(video_title: str, keep: str) -> list[str]:
    """The folded, noise-free parts of a video title set off by dashes, pipes, colons,
    quotes or brackets: "Title - Artist", "Artist: 'Title'", "【Artist】Title"."""
    return _segments_with(video_title, _noise_re(keep))


@lru_cache(maxsize=8192)
def _segments_with(video_title: str, noise: re.Pattern) -> tuple[str, ...]:
    out = []
    # split first: a "feat." part runs to the next separator, and a quoted title may
    # follow it ('Brent Faiyaz Feat Tyler, The Creator "Gravity"')
    for seg in _seg_split(_REMASTER_RE.sub(" ", video_title)):
        f = fold(_YEAR_RE.sub(" ", noise.sub(" ", fold(_FEAT_RE.sub(" ", seg or "")))))
        if f:
            out.append(f)
    return tuple(out)


def _title_score(song_title: str, video_title: str, artist: str) -> tuple[float, float]:
    """(title similarity, artist-in-title similarity) for one video title."""
    from rapidfuzz import fuzz

    keep = f"{artist} {fold(song_title)}"
    full, short = _strip_noise(video_title, keep)
    nt = fold(song_title)
    nt_short = _drop_brackets(song_title) or nt
    best, best_title = 0.0, nt
    rests = []
    for v, vcost in ((full, 0.0), (short, 3.0)):
        if v:
            rest = _remove(artist, v)[0]
            rests.append((rest, vcost))
            rests.append((_trim(rest), vcost))  # "X by Artist", "Artist performs X"
            rests.append((v, vcost + 2.0))  # a self-titled song: "Bad Company" on Topic
    # one part of the title on its own: "Title - Artist", "Artist: 'Title'", "A, B - Title"
    segs = _segments(video_title, keep)
    rests += [(seg, 3.0) for seg in segs]
    # two parts in a row: "Poesia Acústica #6 - Era Uma Vez - <names>" for the song
    # "Poesia Acústica #6: Era uma Vez"
    rests += [(f"{a} {b}", 3.0) for a, b in zip(segs, segs[1:], strict=False)]
    # a part with the title in two scripts: "告白氣球 Love Confession", "逆光 Backlight"
    scripts = {_script(w) for w in nt.split()} - {""}
    for seg in segs:
        mine = " ".join(w for w in seg.split() if _script(w) in scripts or not _script(w))
        if mine and mine != seg:
            rests.append((mine, 3.0))
    for rest, vcost in rests:
        for s, cost in ((nt, 0.0), (nt_short, 3.0)):
            if not s or not rest:
                continue
            sc = max(fuzz.ratio(s, rest), fuzz.token_sort_ratio(s, rest)) - cost - vcost
            if sc > best:
                best, best_title = sc, s
    # the artist is looked for in what is left once the title is taken out, so that a
    # title resembling the artist's name ("The Spark" / "The Roots") does not count; a
    # "ft. Artist" part counts too ("Lil Baby ft. Nardo Wick - Pop Out")
    artist_sim = 0.0
    for hay in (full, fold(_NOISE_RE.sub(" ", fold(video_title)))):
        without_title, _ = _remove(best_title, hay)
        for name in dict.fromkeys((artist, _THE.sub("", artist))):
            if name and without_title:
                artist_sim = max(artist_sim, _window(name, without_title)[0])
    return best, artist_sim


def _channel(channel: str, artist: str) -> tuple[float, str]:
    """How well the channel names the artist, and which kind of official channel it is
    (Topic, VEVO, the artist's own; a record label's is "label" whoever the artist)."""
    from rapidfuzz import fuzz

    kind = ""
    low = channel.strip().lower()
    if _is_topic(channel):
        kind = "Topic"
    elif low.endswith("vevo"):
        kind = "VEVO"
    name = _FEAT_RE.sub(" ", channel).strip()
    once = _CHANNEL_SUFFIX.sub("", name)
    a = _squash(artist)
    # "Roxy Music - Topic": the suffix words may belong to the name
    names = {_squash(n) for n in (name, once, _CHANNEL_SUFFIX.sub("", once))} - {""}
    if not a or not names:
        return 0.0, ""
    score = max(float(fuzz.ratio(a, c)) for c in names)
    if score < 90:
        # "Marshmello, Slushii": a list of names, one of them the artist
        parts = {_squash(x) for x in _NAME_JOINERS.split(name) if x and x.strip()} - {""}
        if len(parts) > 1 and a in parts:
            return 100.0, kind or "artist's own"
        return score, "label" if _LABEL_RE.search(channel) else ""
    return score, kind or "artist's own"


@lru_cache(maxsize=64)
def _phrases(words: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...], str], ...]:
    """Each phrase (``words``, then the version markers), its folded words and those
    words padded with spaces."""
    return tuple((w, tuple(fold(w).split()), f" {fold(w)} ")
                 for w in dict.fromkeys(words + VERSION_MARKERS) if fold(w))


def _count(hay: Sequence[str], phrase: tuple[str, ...]) -> int:
    if len(phrase) == 1:
        return hay.count(phrase[0])
    return f" {' '.join(hay)} ".count(f" {' '.join(phrase)} ")


def _penalties(video_title: str, channel: str, own: Sequence[str],
               words: tuple[str, ...]) -> list[str]:
    """Penalty words and version markers (a TV show, a session, a festival) the video
    carries beyond what the song's own artist/title say (``own``: their folded words).

    Counting keeps the band Live's "Live - Sun" clean but not "Sun (Live) - Live".
    """
    # a bracketed "(feat. ...)" holds names; any other "ft. ..." part hides nothing
    title = fold(_BRACKET_FEAT_RE.sub(" ", video_title)).split()
    chan = fold(channel).split()
    hay = f" {' '.join(title)} | {' '.join(chan)} "
    present = set(title) | set(chan)
    found = []
    for w, fw, padded in _phrases(words):
        if fw[0] not in present or padded not in hay:  # most: absent, decided at once
            continue
        n_own = _count(own, fw)
        if _count(title, fw) > n_own or (not n_own and _count(chan, fw)):
            if not any(f" {w} " in f" {f} " for f in found):
                found.append(w)
    return found


def _explained(word: str, own: frozenset[str], scripts: frozenset[str]) -> bool:
    from rapidfuzz import fuzz

    if word in own or word in _JOINERS or _YEAR_RE.fullmatch(word):
        return True
    if _ROMAN.get(word, _ARABIC.get(word)) in own:  # "Pt. 2" for the song's "Pt. II"
        return True
    sc = _script(word)
    if sc and sc not in scripts:  # the artist or title in another script: "박재범 Jay Park"
        return True
    # a typo or a dropped letter ("Tme" for "Time", "Officical")
    return len(word) >= 3 and any(len(o) >= 3 and fuzz.ratio(word, o) >= 80
                                  for o in own | _TYPO_NOISE)


def _names_in(part: str, names: tuple[str, ...]) -> bool:
    """Whether a folded part of a title holds one of the song's names (its artists)."""
    if not part:
        return False
    padded, squashed = f" {part} ", part.replace(" ", "")
    for n in names:
        if n and (f" {n} " in padded or (len(n) >= 4 and n.replace(" ", "") in squashed)
                  or (len(n) >= 4 and _window(n, part)[0] >= 90)):
            return True
    return False


#: Words by which an unexplained part of a title names another version of the song
#: (it fails the candidate); any other unexplained part is harmless noise that only
#: costs points ("(Shadow Video)", "(US Version)", "(Chapter I)").
_HARD_QUAL = re.compile(
    r"\b(?:versions?|version|versao|versione|versie|fassung|mix(?:es)?|remix\w*|rmx|"
    r"rework|redux|reprise|remake|re ?record\w*|alternat\w*|alt|takes?|medley|edit|dub|"
    r"vip|bootleg|flip|extended|long|short|orchestral|symphonic|orchestra|philharmonic|"
    r"stripped|reimagined|rearranged|re ?imagined|acapella|a cappella|cappella|dvd|set|"
    r"\w*sessions?|sessie|sesion|sessao|show|mtv|piano|guitar|choir|kids|lo ?fi|8 ?bit|"
    r"chiptune|tik ?tok|slowed|reverb|sped|speed|pitched|daycore|hardstyle|boosted|"
    r"rehearsal|demo|outtake|teaser|trailer|preview|snippet|sneak|interview|"
    r"documentary|behind|making|fancam|fan ?cam|mirrored|reversed?|hours?|loop\w*|"
    r"instrumental|inst|beat|backing|minus|karaoke|cover|tribute|parody|tour|gira|tournee|"
    r"turne|vivo|"
    r"directo|concert|concierto|konzert|acoustic|acustic[oa]|unplugged|"
    r"ensaio|gig|size|bonus|duet|duett|dueto|solo|orchestration|arrangement|"
    r"arr|mashup|megamix|club|radio|special|anniversary|deluxe|performs|performing|rendition|"
    r"vocals?|isolated|stems?|multitrack|only|bass|drums?|sing ?along|singalong|"
    # concert venues: "[Wembley, 1986]", "Live from the Hollywood Bowl"
    r"hall|arena|stadium|theat(?:er|re)|amphitheat\w*|bowl|palladium|olympia|forum|"
    r"coliseum|colosseum|budokan|wembley|red rocks|montreux|roskilde|paradiso|fillmore|"
    r"apollo|hammersmith|royal albert|madison square|o2|"
    r"\d+(?: \d+)*|"
    + "|".join(re.escape(fold(w)) for w in VERSION_MARKERS + DEFAULT_PENALTY_WORDS)
    + r")\b")
#: "X Version" / "X Edit" phrases that name the same recording ("Video Version" and
#: "Video Edit" do not: they are the video's own cut).
_SAME_VERSION = re.compile(
    r"\b(?:us|uk|usa|international|intl|album|single|original|official|"
    r"explicit|clean|dirty|censored|uncensored|hd|hq|4k|full|lp|cd|digital|remastered|"
    r"stereo|mono|radio|studio|studio sound|hd)\s+(?:version|edit)\b|"
    r"\bversi[oó]n\s+original\b")
_SAME_WORDS = re.compile(r"\b(?:version|edit|radio)\b")
_VERSION_WORD = re.compile(r"\b(?:version|versions|versao|versione|mix|remix|edit)\b")


#: A film's or show's soundtrack credit: its words name the film, not a version.
_SOUNDTRACK = re.compile(r"\b(?:soundtrack|ost|motion picture|bande originale|"
                         r"trilha sonora|banda sonora)\b")
#: Words that name another recording even inside a credits block ("| Sid Sriram
#: rendition", "(Clipe Oficial) DVD #ForaDaLei").
_CREDIT_VERSION = re.compile(r"\b(?:live|dvd|en vivo|ao vivo|rendition|unplugged|acoustic|"
                             r"remix|cover|karaoke|instrumental|reprise|concert)\b")
#: A day's date: a broadcast or a concert ("27th September 2020", "12 mai 1998").
_DATE_RE = re.compile(r"\b\d{1,2}(?:st|nd|rd|th|er)?\s+(?:jan|feb|mar|apr|may|jun|jul|aug|"
                      r"sep|oct|nov|dec|janv|fev|avr|mai|juin|juil|aout|enero|febrero|marzo|"
                      r"abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|"
                      r"diciembre)[a-z]*\s+(?:19|20)\d\d\b")
#: Words of an album's name that need not appear for the album to be named.
_GENERIC_ALBUM = frozenset({"movie", "film", "game", "music", "songs", "series", "official",
                            "edition", "special", "extended", "expanded", "anniversary"})
#: What a live song's own title explains in a video's: another language's "live", the
#: concert film it comes from ("Ao Vivo" for "(En Vivo)", "(DVD Ao Vivo em Fortaleza)").
_LIVE_SONG = frozenset({"live", "vivo", "directo", "concert", "concierto", "konzert"})
_LIVE_WORDS = ("live", "en", "vivo", "ao", "vivo", "en", "directo", "dvd", "concert",
               "concierto", "konzert", "live")


def _hard(part: str, extra: list[str]) -> bool:
    """Whether an unexplained part of a title (``part`` folded, ``extra`` its
    unexplained words) names another version: "(Alternate Mix)", "(Ballroom Version)",
    "2.0"; "(US Version)" and "(Shadow Video)" do not."""
    e = " ".join(extra)
    if _YEAR_RE.search(part):  # a dated event: "Torino 1959", "[Wembley, 1986]"
        return True
    if _SAME_VERSION.search(part):
        e = _SAME_WORDS.sub(" ", e)
    elif _VERSION_WORD.search(part):  # "(Lullaby Version)" for a "(Complete Version)"
        return True
    return bool(_HARD_QUAL.search(e))


@lru_cache(maxsize=8192)
def _qualifiers(video_title: str, own: tuple[str, ...], keep: str,
                names: tuple[str, ...] = (), channel: str = "",
                album: tuple[str, ...] = ()) -> tuple[tuple[str, bool], ...]:
    """The parts of a video title (bracketed, or set off by " - ", "|", ":") holding
    words that neither the song's artist and title (``own``, folded words) nor known
    noise explain; each part once, as its unexplained words and whether they name
    another version (:func:`_hard`).

    A part naming one of the song's artists (``names``) is an artist list: its other
    names are co-artists ("Tory Lanez, Rich The Kid"). Parts after a "|" that name the
    song's artists, album or film make a credits block: the block explains itself."""
    noise = _noise_re(keep)
    t = _BRACKET_FEAT_RE.sub(" ", _REMASTER_RE.sub(" ", video_title))
    parts: list[tuple[str, bool]] = []  # (text, after a pipe)
    froms: list[str] = []
    # the song's title and album words (not its artists': "from Alice Cooper: Trashes
    # The World" names a concert film)
    song = frozenset(own) - frozenset(w for n in names for w in n.split()) | frozenset(album)
    own_set = frozenset(own)
    scripts = frozenset(_script(w) for w in own) - {""}
    pos, piped = 0, False
    for m in _PARTS_RE.finditer(t):
        parts.append((t[pos:m.start()], piped))
        if m.group(1) is not None:
            inner = fold(m.group(1))
            # a producer credit: "(Prod. by X)"; a soundtrack: "(From "Movie")"
            if inner.startswith("from "):
                if not _from_explained(inner, song):
                    # a concert film or another release: "(from Look Alive)"
                    froms.append(inner)
            elif not inner.startswith(("prod ", "prod by", "produced by")):
                parts.append((inner, piped))
        elif "|" in m.group(0) or "•" in m.group(0):
            piped = True
        pos = m.end()
    parts.append((t[pos:], piped))
    folded = [(p, fold(noise.sub(" ", fold(p))),
               fold(noise.sub(" ", fold(_FEAT_RE.sub(" ", p)))), pp) for p, pp in parts]
    credits = any(pp and _names_in(f, names + own_names(own_set)) for _, f, _, pp in folded)
    # a label's upload naming the song's album or film: its pipes are the film's credits
    if album and _is_label(channel):
        credits = credits or bool(set(album) & set(fold(t).split()))
    # "Kygo - Fever ft. Lukas Graham" for a song credited to Lukas Graham: the part
    # before the first dash is the lead artist's slot once the song's artist is named
    # in another part (a featured one)
    lead = ""
    if len(folded) > 1 and _LEAD_SLOT.match(t):
        first = folded[0][1]
        if (first and len(first.split()) <= 5 and not _names_in(first, names)
                and any(_names_in(fold(raw), names) for raw, *_ in folded[1:])):
            lead = first
    out = [(f, True) for f in froms]
    for raw, whole, f, pp in folded:
        if whole.startswith(("prod ", "prod by ", "produced by ")) or (lead and whole == lead):
            continue
        if _SOUNDTRACK.search(fold(raw)):  # "Furious 7 Soundtrack", "(Mamma Mia Movie OST)"
            continue
        if pp and credits:  # a credits block explains its names, never a version
            kinds = [w for m in _CREDIT_VERSION.finditer(fold(raw)) for w in m.group(0).split()
                     if not _explained(w, own_set, scripts)]
            kinds += _DATE_RE.findall(fold(raw))  # a broadcast: "| 27th September 2020"
            if kinds:
                out.append((" ".join(dict.fromkeys(kinds)), True))
            continue
        if _artist_list(raw, names, own_set, scripts, noise):
            continue
        if len(channel) >= 4 and whole == channel:  # the uploader's own name: "(Desafío Music)"
            continue
        if whole and _LABEL_RE.fullmatch(whole.strip()):  # a label credit: "(Decca)"
            continue
        extra = [w for w in f.split() if not _explained(w, own_set, scripts)]
        if extra:
            out.append((" ".join(extra), _hard(fold(raw), extra)))
    return tuple(out)


#: Version words that make a part naming the song's artist more than an artist list.
_LIST_VERSION = re.compile(r"\b(?:remix\w*|mix|rmx|edit|extended|version|live|acoustic|"
                           r"cover|rework|bootleg|\w*sessions?|instrumental|karaoke)\b")
#: Words of a "(from ...)" credit that name a soundtrack or an album, not a version.
_FROM_SOURCE = re.compile(r"\b(?:album|soundtrack|ost|motion picture|movie|film|series|"
                          r"musical|game|disney|pixar)\b")


def _from_explained(inner: str, song: frozenset[str]) -> bool:
    """Whether a folded "from ..." part names the song's own album or film (a word of
    the song's title or album: "(From "Tangled"/Sing-Along)") or a soundtrack or album
    ("from Suicide Squad: The Album"); "(from Look Alive)", a concert film, does not."""
    if _FROM_SOURCE.search(inner) and not _YEAR_RE.search(inner):
        return True
    return any(w in song for w in inner.split()[1:] if len(w) >= 3 and w not in _JOINERS)


def _artist_list(raw: str, names: tuple[str, ...], own: frozenset[str],
                 scripts: frozenset[str], noise: re.Pattern) -> bool:
    """Whether a part of a title is a list of artists holding one of the song's:
    "Tory Lanez, Rich The Kid", "Soolking feat Niska", "박재범 Jay Park" (a name, its
    other-script copy). "NCT 127 'Designer'" is not: its other words are no names."""
    chunks = [fold(noise.sub(" ", fold(x))) for x in _NAME_JOINERS.split(raw) if x]
    chunks = [c for c in chunks if c]
    from rapidfuzz import fuzz

    # "[Purple Disco Machine & Lorenz Rhode Extended Remix]": a name and a version
    if _LIST_VERSION.search(" ".join(w for c in chunks for w in c.split()
                                     if not _explained(w, own, scripts))):
        return False
    for c in chunks:
        if any(n and fuzz.ratio(_squash(c), _squash(n)) >= 90 for n in names):
            return True  # "Enanitos Verdes" for "Los Enanitos Verdes"
        for n in names:
            if not n or f" {n} " not in f" {c} ":
                continue
            rest = f" {c} ".replace(f" {n} ", " ", 1).split()
            if all(_explained(w, own, scripts) for w in rest):
                return True
    return False


def own_names(own: frozenset[str]) -> tuple[str, ...]:
    """The song's own longer words, as names a credits block may carry (album, film)."""
    return tuple(w for w in own if len(w) >= 4 and w not in _JOINERS)


def _is_bare(video_title: str) -> bool:
    """A title that does not say it is a video (a music video may carry an intro)."""
    return not (set(fold(video_title).split()) & _VIDEO_WORDS)


def _duration(expected: float | None, actual: float | None, cfg: MatchConfig,
              far: float = FAR_OFF, bare: bool = False) -> tuple[float, str, bool]:
    """(penalty, note, hard failure) for a video's duration against the song's; a
    negative penalty is a credit (the durations agree). The note says which way the
    duration counted: "(for)" or "(against)"."""
    if actual is not None and actual <= 0:
        return cfg.version_penalty, "live stream (no duration, against)", True
    if expected is None or expected <= 0:
        return 0.0, "" if actual is None else f"duration {actual:.0f}s", False
    if actual is None:
        return 0.0, "", False
    diff = abs(actual - expected)
    tol = max(cfg.duration_tolerance, cfg.duration_tolerance_pct / 100 * expected)
    note = f"duration {actual:.0f}s vs song {expected:.0f}s"
    if diff <= min(tol, CLOSE_S):
        return -DURATION_CREDIT, note + " (close: for)", False
    if diff <= tol:
        return 0.0, note + " (within tolerance)", False
    if bare and diff > max(tol, BARE_OFF * expected):
        return (min(40.0, 10.0 + 60.0 * (diff - tol) / expected),
                note + f" ({100 * diff / expected:.0f}% off under a bare title: another "
                "take, against)", True)
    excess = (diff - tol) / expected
    return min(40.0, 10.0 + 60.0 * excess), note + " (off: against)", excess > far


_SONG_FEAT = re.compile(
    r"[\(\[]\s*(?:feat\.?|ft\.?|featuring|with|w/)\s+([^\)\]]+)[\)\]]"
    r"|\s(?:feat\.|ft\.|featuring)\s+(.+)$", re.IGNORECASE)


_LEAD_SLOT = re.compile(r"[^\-–—|:]+\s[-–—]\s")
_NON_LETTERS = re.compile(r"[^a-z]")
_FILM_RE = re.compile(r"(?:[\(\[]|\s[-–]\s|/)\s*from\s+[\"'“]?([^\"'”\)\]]+)", re.IGNORECASE)
_FROM_TAIL = re.compile(r"\s[-–]\s+from\s+.*$", re.IGNORECASE)  # "Song - From \"Film\""
_DASH_SPLIT = re.compile(r"\s[-–]\s")
_LABEL_SQUASHED = re.compile(
    r"sonymusic|tseries|zeemusic|universalmusic|warnermusic|tipsofficial|saregama|"
    r"adityamusic|lahari|speedrecords|yrf|vevo$")


def _is_label(channel: str) -> bool:
    """A record label's channel (or a VEVO one): "T-Series", "SonyMusicSouthVEVO"."""
    return bool(_LABEL_RE.search(channel)
                or _LABEL_SQUASHED.search(_NON_LETTERS.sub("", channel.lower())))


def _album_words(album: str | None, title: str) -> tuple[str, ...]:
    """The album's (or film's) own words: not the song title's, not noise, 4+ letters."""
    films = _FILM_RE.findall(title)
    text = " ".join([album or ""] + films)
    if not text.strip():
        return ()
    bare = _FROM_TAIL.sub(" ", _BRACKET_RE.sub(" ", title))
    words = set(fold(clean_title(text)).split()) - set(fold(bare).split()) - _JOINERS
    return tuple(sorted(w for w in words if len(w) >= 4 and not _NOISE_RE.fullmatch(w)
                        and w not in ("original", "motion", "picture", "soundtrack",
                                      "deluxe", "edition", "version", "from")))


#: A version suffix after a dash in a song's title ("VáPurMim - Ao Vivo", "Sunroof -
#: Loud Luxury Remix"): compared as a bracketed part, and required of the video.
_DASH_VERSION = re.compile(
    r"\s+[-–]\s+([^-–()\[\]]*\b(?:live|vivo|en vivo|ao vivo|remix|mix|version|versi[oó]n|"
    r"versao|acoustic|ac[uú]stico|unplugged|slowed|sped up|reverb|instrumental|rework|"
    r"re-work|session|sessions)\b[^-–()\[\]]*)$", re.IGNORECASE)
#: Kinds of version a song's own title may name; the video must name the same kind
#: ("Song (Live)" is not answered by the studio video). Each: the words that say it.
_REQUIRED = (
    ("live", frozenset({"live", "vivo", "directo", "concert", "concierto", "session",
                        "sessions", "unplugged", "dvd"})),
    ("remix", frozenset({"remix", "mix", "rmx", "rework", "edit", "bootleg", "flip", "vip",
                         "dub", "remixes", "version"})),
    ("acoustic", frozenset({"acoustic", "acustico", "acustica", "unplugged", "stripped"})),
    ("slowed", frozenset({"slowed", "sped", "speed", "reverb", "nightcore"})),
    ("instrumental", frozenset({"instrumental", "inst", "karaoke"})),
)
_REQUIRED_WORDS = {
    "live": "live", "vivo": "live", "directo": "live", "remix": "remix",
    "rework": "remix", "mix": "remix", "acoustic": "acoustic", "acustico": "acoustic",
    "unplugged": "acoustic", "slowed": "slowed", "sped": "slowed", "reverb": "slowed",
    "instrumental": "instrumental",
}


_ROMAN = {"ii": "2", "iii": "3", "iv": "4", "vi": "6", "vii": "7", "viii": "8", "ix": "9"}
_ARABIC = {v: k for k, v in _ROMAN.items()}


_NUM_WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
              "seven": "7", "eight": "8", "nine": "9", "ten": "10"}
#: Catalogue numbers of classical works ("Op. 28", "BWV 1007", "K. 622"): not a sequel's.
_CATALOGUE = frozenset({"op", "opus", "bwv", "k", "kv", "l", "hob", "rv", "d", "no", "n",
                        "hwv", "sz", "wq", "woo", "s", "r", "p", "nr"})


def _main_title(title: str) -> str:
    """A cleaned song title's main part, folded: no brackets, nothing after " - "."""
    return fold(_DASH_SPLIT.split(_BRACKET_RE.sub(" ", title))[0])


def _numbers(folded: str, words: bool = False) -> set[str]:
    """The numbers a folded title carries (roman numerals II-IX as digits; with
    ``words``, "two" as 2 too), leaving out years, a leading track number and the
    catalogue numbers of classical works: "METAMORPHOSIS 2", "Pt. II"."""
    out, ws = set(), folded.split()
    for i, w in enumerate(ws):
        if not words and (i == 0 or ws[i - 1] in _CATALOGUE or _YEAR_RE.fullmatch(w)):
            continue
        if w.isdigit() and len(w) <= 6:
            out.add(str(int(w)))
        elif w in _ROMAN:
            out.add(_ROMAN[w])
        elif words and w in _NUM_WORDS:
            out.add(_NUM_WORDS[w])
    return out


def _required(title: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """The kinds of version a cleaned song title's bracketed parts name."""
    kinds = {_REQUIRED_WORDS[w] for m in _BRACKET_RE.finditer(title)
             for w in fold(m.group(1)).split() if w in _REQUIRED_WORDS}
    return tuple(k for k in _REQUIRED if k[0] in kinds)


#: Frequency, effect and length markers of an edited upload ("432Hz", "8D Audio", "10
#: Hours", "slowed + reverb"), matched as folded words.
_EFFECT_RE = re.compile(r"\b(?:\d+ ?hz|\d+ ?(?:hours?|hrs?)|reverb\w*|bass ?boost\w*|"
                        r"8 ?d(?: audio)?|loop(?:ed)?)\b")


def _effects(video_title: str, own: str) -> list[str]:
    """Effect markers in a folded video title the song's own folded words lack."""
    squashed = own.replace(" ", "")
    return [m.group(0) for m in _EFFECT_RE.finditer(video_title)
            if m.group(0).replace(" ", "")[:6] not in squashed]


#: Title words that may be missing or spelt otherwise without changing the song.
_MINOR = frozenset({"the", "a", "an", "and", "of", "to", "in", "on", "n", "o", "s", "t",
                    "feat", "ft", "with", "y", "e", "et", "und", "de", "la", "el", "le",
                    "tha", "da", "i"})
#: Spoken spellings and abbreviations of title words ("Wanna", "U", "Pt. 2", "RMX").
_SPELLINGS = {"u": "you", "ya": "you", "ur": "your", "bout": "about", "ol": "old",
              "ole": "old", "wanna": "want", "gonna": "going", "gotta": "got", "pt": "part",
              "rmx": "remix", "luv": "love", "thru": "through", "nite": "night",
              "tonite": "tonight", "cuz": "because", "coz": "because", "cause": "because",
              "em": "them", "yg": "yang", "n": "and", "vol": "volume"}
#: Words of a sectioned (classical) work title a video need not repeat.
_WORK_WORDS = frozenset({"op", "opus", "no", "nr", "bwv", "kv", "hob", "vol", "volume",
                         "part", "act", "scene", "movement", "mvt"} | set(_ROMAN) | {"i", "v", "x"})


def _same_word(w: str, v: str) -> bool:
    """Whether a video's word ``v`` spells the song's word ``w`` (a typo, a swapped or
    dropped letter; "dreamin" for "dreaming"), and is not another word that starts the
    same ("link" is not "linked", "love" is not "lover")."""
    from rapidfuzz.distance import OSA

    if w == v:
        return True
    a, b = (w[:-1] if w.endswith("ing") else w), (v[:-1] if v.endswith("ing") else v)
    if a == b:
        return True
    if len(w) < 4 or w[0] != v[0] or a.startswith(b) or b.startswith(a):
        return False
    cut = 2 if len(w) >= 8 else 1
    return OSA.distance(w, v, score_cutoff=cut) <= cut


def _swapped(mw: list[str], vw: list[str], word: str) -> bool:
    """Whether the video's words hold the song's title with ``word`` alone replaced by
    another content word, in its place: another title, not a dropped word."""
    n, k = len(mw), mw.index(word)
    rest = mw[:k] + mw[k + 1:]
    if any(all(_same_word(w, v) for w, v in zip(rest, vw[i:i + n - 1], strict=False))
           for i in range(len(vw) - n + 2)):
        return False  # dropped, not replaced: "Dont Mess Around With Jim"
    for i in range(len(vw) - n + 1):
        run = vw[i:i + n]
        if all(_same_word(w, v) for j, (w, v) in enumerate(zip(mw, run, strict=True)) if j != k):
            v = run[k]
            return (len(v) >= 3 and v not in _MINOR and _script(v) == _script(word)
                    and not v.isdigit())
    return False


@lru_cache(maxsize=8192)
def _missing_words(main: str, video: str) -> tuple[str, ...]:
    """The content words of a song's folded main title that a folded video title lacks
    (in a script the video uses), when they make it another title: any for a title of
    up to three content words, two or more for a longer one ("Linked" for a "Link"
    video, "Baby" for "Santa"). A title close as a whole (a typo, a plural, a joined
    word: "Summertime") passes; the caller leaves out sectioned works ("Composer:
    Work, Op. 1")."""
    if not main:
        return ()
    vw = [_SPELLINGS.get(v, v) for v in video.split()]
    mw = [_SPELLINGS.get(w, w) for w in main.split()]
    # the title as whole words, perhaps joined or split otherwise ("Summer Time")
    sq = "".join(mw)
    if any("".join(vw[i:j]) == sq for i in range(len(vw))
           for j in range(i + 1, min(len(vw), i + len(mw) + 2) + 1)):
        return ()
    scripts = {_script(v) for v in vw}
    content = [w for w in mw if w not in _MINOR and len(w) >= 3 and w not in _WORK_WORDS
               and _script(w) not in ("", "cjk", "hangul")]
    content = [w for w in content if _script(w) in scripts]
    out = tuple(w for w in content if not any(_same_word(w, v) for v in vw))
    if len(out) == 1 and len(content) > 3 and _swapped(mw, vw, out[0]):
        return out  # "this is what sadness feels like" for "... heartbreak ..."
    if not out or (len(content) > 3 and len(out) < 2):
        return ()
    if _window(" ".join(mw), " ".join(vw))[0] >= 90:
        return ()
    return out


_JOIN_FEAT = re.compile(r"\s(?:feat\.?|ft\.?|featuring)\s", re.IGNORECASE)


def _lead_is_other(vtitle: str, credited: tuple[str, ...], featured: tuple[str, ...],
                   main: str) -> bool:
    """Whether the video's lead artist (before " - ", ahead of "ft."/"feat.") is someone
    else while the song's credited artist appears only as featured: "DJ Other ft Lead
    and Guest - Song" for Lead's "Song (feat. Guest)". Applies only when the song's
    credit says who leads (its own artist is not one of its featured names)."""
    leads = [c for c in credited if not _names_in(c, featured)]
    if not featured or not leads:
        return False
    m = _LEAD_SLOT.match(vtitle)
    if not m:
        return False
    slot = m.group(0).rstrip(" -–—")
    parts = _JOIN_FEAT.split(f" {slot} ", maxsplit=1)
    if len(parts) < 2:
        return False
    head, tail = fold(parts[0]), fold(parts[1])
    if not head or main and _squash(main) in head.replace(" ", ""):
        return False
    heads = [fold(x) for x in _NAME_JOINERS.split(parts[0]) if x and fold(x)]
    if any(_names_in(h, tuple(credited) + featured) for h in heads):
        return False
    return _names_in(tail, tuple(leads))


_COVER_PART = re.compile(r"[\(\[]([^\)\]]*\bcover\b[^\)\]]*)[\)\]]", re.IGNORECASE)


def _own_cover(vtitle: str, credited: tuple[str, ...], own: tuple[str, ...],
               own_channel: bool) -> tuple[str, ...]:
    """Words a cover credit explains when the cover is the song's own artist's (the
    track is that cover), uploaded on that artist's channel: "(Boyce Avenue acoustic
    cover)", "(Kato Cover)" (elsewhere "(Artist Cover)" is a cover *of* the artist); or
    when the song's album is one of covers ("Covers", "Cover Sessions, Vol. 2")."""
    out: list[str] = []
    for m in _COVER_PART.finditer(vtitle) if own_channel else ():
        inner = fold(m.group(1))
        if _names_in(inner, credited):
            out += inner.split()
    if "covers" in own and "cover" not in own:
        out.append("cover")
    return tuple(out)


def _live_album_named(album: str | None, title: str, artist: str, vwords: set[str]) -> bool:
    """Whether a live song's video names its live album ("Volta Pra Casa (Como
    Antigamente)" for the album "Como Antigamente (Ao Vivo)"): the album's own words,
    not the artist's, not the live words."""
    if not album or not _LIVE_SONG & set(fold(album).split()):
        return False
    words = set(_album_words(album, title)) - set(fold(f"{artist} {title}").split()) - \
        _LIVE_SONG - {"ao", "en", "dvd"}
    return bool(words & vwords)


#: A label's film-song title: "Is Pal Song | Aaja Nachle | Cast | Singers".
_SONG_HEAD = re.compile(r"^\s*([^|｜]+?)\s+(?:full\s+)?(?:video\s+|lyrical\s+|audio\s+)?"
                        r"(?:song|lyrical)\s*(?:[-–(\[][^|｜]*)?[|｜]", re.IGNORECASE)


def _song_head(vtitle: str, main: str, names: tuple[str, ...]) -> str:
    """The title a film-song upload leads with ("Is Pal Song | Aaja Nachle | ...") when
    it is not the song's (whose title then only names the album or film)."""
    m = _SONG_HEAD.match(vtitle)
    if not m:
        return ""
    head = fold(m.group(1))
    if not head or _names_in(head, names) or _window(fold(main), head)[0] >= 80:
        return ""
    return m.group(1).strip()


def _extra_artists(cand_artists: tuple[str, ...], names: tuple[str, ...],
                   own: str) -> list[str]:
    """The artists a structured result credits beyond the song's (its artists, featured
    names, and names its title carries, such as a remixer)."""
    from rapidfuzz import fuzz

    out = []
    for a in cand_artists:
        s = _squash(a)
        if not s or any(fuzz.ratio(s, _squash(n)) >= 85 for n in names if n):
            continue
        if f" {fold(a)} " in f" {own} ":
            continue
        out.append(a)
    return out


#: Words a song title's version part may hold that name no one ("- Radio Edit",
#: "(Acoustic Version)", "- Live at"); the rest name a remixer, arranger or session.
_GENERIC_VERSION = frozenset({
    "remix", "remixed", "mix", "mixed", "rmx", "rework", "edit", "edited", "version",
    "versions", "radio", "club", "extended", "original", "dub", "vip", "bootleg", "flip",
    "live", "at", "from", "in", "on", "the", "a", "an", "of", "and", "by", "session",
    "sessions", "arr", "arranged", "arrangement", "for", "acoustic", "single", "album",
    "mono", "stereo", "remastered", "remaster", "explicit", "clean", "short", "long",
    "instrumental", "unplugged", "studio", "demo", "vivo", "ao", "en", "directo",
    "official", "video", "slowed", "sped", "up", "reverb", "acustico", "stripped",
    "with", "feat", "ft", "orchestral", "piano", "guitar", "re", "recorded", "take",
    "main", "new", "alternate", "alternative", "alt", "lp", "cd", "digital", "uk", "us",
    "vocal", "mixes", "x", "vs", "de", "la", "el", "do", "da", "mtv", "bbc"})
_VERSION_PART = re.compile(r"\b(?:remix\w*|mix|mixed|rmx|rework|edit|dub|vip|bootleg|flip|"
                           r"session|sessions|arr|arranged|arrangement)\b")
_REMIX_PART = re.compile(r"\b(?:remix\w*|rmx|rework|bootleg|flip|vip)\b")
_NAMED_KINDS = re.compile(r"\b(?:session|sessions|arr|arranged|arrangement)\b")


@lru_cache(maxsize=4096)
def _version_names(title: str) -> tuple[tuple[tuple[str, ...], bool], ...]:
    """For each version part of a cleaned song title (a bracket, or a dash suffix turned
    into one) that names a remixer, arranger or session ("Lost Kings Remix", "Arr.
    Kleynjans", "BBC Radio 2 Session"), the folded words that name it (years left out)
    and whether it is an arrangement or a session (named anywhere in the video)."""
    out = []
    for m in _BRACKET_RE.finditer(title):
        inner = fold(m.group(1))
        if not _VERSION_PART.search(inner) or inner.startswith(("feat ", "ft ", "with ")):
            continue
        words = tuple(w for w in inner.split() if w not in _GENERIC_VERSION
                      and not _YEAR_RE.fullmatch(w))
        if words:
            out.append((words, bool(_NAMED_KINDS.search(inner))))
    return tuple(out)


def _names_version(words: tuple[str, ...], anywhere: bool, vtitle: str,
                   channel: str) -> bool:
    """Whether the video names the song's remixer/arranger/session (``words``) in a part
    that names a version, or (``anywhere``: an arranger, a session) anywhere in its
    title or channel."""
    squashed = "".join(words)
    parts = [fold(p) for p in _BRACKET_RE.findall(vtitle)] + [
        fold(p) for p in _seg_split(vtitle) if p]
    hay = [p for p in parts if _VERSION_PART.search(p) or _HARD_QUAL.search(p)]
    if anywhere or any(_REMIX_PART.search(p) for p in hay):
        # an arranger or session anywhere; a remixer named as an artist of a "(Remix)"
        hay += [fold(vtitle), fold(channel)]
    for p in hay:
        ws = p.split()
        if all(any(_same_word(w, v) for v in ws) for w in words) or (
                len(squashed) >= 5 and squashed in p.replace(" ", "")):
            return True
    return False


def _leading_bracket(vtitle: str, main: str, own: frozenset[str], noise: re.Pattern) -> str:
    """An unexplained bracket that opens the title part of a video title, right before
    the song's title: part of another song's title ("Artist - (This Year's) Song" for
    "Song"); "" if none. A bracket after a name ("Artist (Group) - Song") is not."""
    if not main:
        return ""
    for m in _BRACKET_RE.finditer(vtitle):
        before = vtitle[:m.start()].rstrip()
        if before and before[-1] not in "-–—|:'\"“‘«「【~":
            continue
        after = vtitle[m.end():]
        first = after.lstrip()[:1]
        if not (first.isalnum() or first in "'\"‘’“”") or not f" {fold(after)} ".startswith(
                f" {main} "):
            continue
        inner = fold(_YEAR_RE.sub(" ", noise.sub(" ", fold(m.group(1)))))
        scripts = frozenset(_script(w) for w in main.split()) - {""}
        extra = [w for w in inner.split() if w not in own and w not in _MINOR
                 and (not _script(w) or _script(w) in scripts)]
        if extra and not inner.startswith(("feat ", "ft ", "with ")):
            return " ".join(extra)
    return ""
    for m in _BRACKET_RE.finditer(vtitle):
        if not f" {fold(vtitle[m.end():])} ".startswith(f" {main} "):
            continue
        inner = fold(_YEAR_RE.sub(" ", noise.sub(" ", fold(m.group(1)))))
        extra = [w for w in inner.split() if w not in own and w not in _MINOR]
        if extra:
            return " ".join(extra)
    return ""


@lru_cache(maxsize=4096)
def _song(artist: str, title: str) -> tuple[tuple[str, ...], str, tuple[str, ...],
                                             tuple[str, ...], tuple[str, ...]]:
    """(folded spellings of the artist: cleaned, and as written; the cleaned title;
    folded words of the raw artist and title; folded names of the artist list split at
    its joiners; folded names the title's "(feat. ...)" part adds). Only the artist list
    is evidence of the artist: a featured name alone is how fan uploads are titled."""
    artist, title = _prep(artist), _prep(title)
    a = fold(clean_artist(artist))
    # a show's cast as its uploads name it: "Glee Cast" as "GLEE"
    names = tuple(dict.fromkeys(n for n in (a, fold(artist), _CAST.sub("", a)) if n))
    credited = list(names) + [fold(x) for x in _NAME_JOINERS.split(artist)
                              if x and len(fold(x)) >= 2]
    featured = [fold(x) for m in _SONG_FEAT.finditer(title) for g in m.groups() if g
                for x in _NAME_JOINERS.split(g) if x and len(fold(x)) >= 2]
    return (names, _DASH_VERSION.sub(r" (\1)", clean_title(title)),
            tuple(fold(f"{artist} {title}").split()),
            tuple(dict.fromkeys(c for c in credited if c)),
            tuple(dict.fromkeys(f for f in featured if f)))


_CAST = re.compile(r"(?<=\w{3})\s+(?:original\s+)?(?:broadway\s+|london\s+|movie\s+|film\s+|"
                   r"tv\s+)?cast$")
#: Artists that name no performer: any recording of the work is credited so.
_NO_PERFORMER = frozenset({"traditional", "trad", "anonymous", "anon", "unknown",
                           "various artists", "various"})
#: "(Cover Audio)": a label's upload of the release's audio over its cover art.
_COVER_ART = re.compile(r"\bcover\s+audio\b", re.IGNORECASE)
#: A classical work's catalogue number in a song title ("Op. 71", "RV 315", "K. 626").
_WORK_NUMBER = re.compile(r"\b(?:op|opus|bwv|kv?|rv|hob|th|hwv|woo|sz)\.?\s*(?:\d+|[ivx]+)\b",
                          re.IGNORECASE)


def _featured_only(artist: str, featured: tuple[str, ...]) -> bool:
    """Whether the song's artist is only featured on it ("JUGGERNAUT (feat. Lil Uzi Vert
    & Pharrell Williams)" for Pharrell Williams; "& Pharrell" counts too)."""
    a = fold(clean_artist(artist))
    return any(f == a or a.startswith(f"{f} ") for f in featured if f)


def _release_copy(artist: str, title: str, t: str, album: str | None, cand: Candidate,
                  title_sim: float, featured: tuple[str, ...]) -> str:
    """Why a candidate whose artist does not match is still the release (its duration
    agreeing or unknown), or "": a YouTube Music song of the song's album with the
    artist in another script ("טונה" for "Tuna"); a Topic upload of the song's whole
    title when the song's artist names no performer ("Traditional"), is its composer
    (a title with a catalogue number, on the performer's Topic channel), or is only
    featured on it ("Rede mit mir (feat. Luciano)" on the lead's Topic channel)."""
    if (cand.artists and cand.album and album and len(fold(album)) >= 4
            and fold(cand.album) == fold(album) and title_sim >= 90
            and {_script(w) for w in fold(artist).split()}.isdisjoint(
                _script(w) for x in cand.artists for w in fold(x).split())):
        return "album field: the song's album, its artist in another script"
    if title_sim >= 90 and _featured_only(artist, featured):
        lead = _DASH_SPLIT.split(cand.title, maxsplit=1)
        if len(lead) == 2 and fold(lead[0]) and _channel(cand.channel_title,
                                                        fold(lead[0]))[0] >= 90:
            # "Tyler, The Creator - JUGGERNAUT" on Tyler's channel for Pharrell
            # Williams's "JUGGERNAUT (feat. Lil Uzi Vert & Pharrell Williams)"
            return "the lead artist's upload on their own channel (the song's is featured)"
    if not _is_topic(cand.channel_title) or title_sim < 90:
        return ""
    surname = (fold(clean_artist(artist)).split() or [""])[-1]
    if (_WORK_NUMBER.search(title) and len(fold(t).split()) >= 4
            and _WORK_NUMBER.search(cand.title) and len(surname) >= 4
            and f" {surname} " in f" {fold(title)} {fold(cand.title)} "):
        # the artist is the work's composer ("Tchaikovsky: The Nutcracker, Op. 71"); a
        # conductor's or player's work on another performer's channel is another take
        return "a Topic upload of the whole title (a catalogued work by its composer)"
    if title_sim < 97:
        return ""
    if fold(clean_artist(artist)) in _NO_PERFORMER:
        return "a Topic upload of the whole title (the song names no performer)"
    if _featured_only(artist, featured):
        return "a Topic upload of the whole title (the song's artist is featured)"
    return ""


def score_candidate(artist: str, title: str, duration: float | None, cand: Candidate,
                    cfg: MatchConfig, album: str | None = None) -> Scored:
    """Score one candidate for one song (raw MSD or Spotify artist and title; the
    album, when known, explains a credits block and a YouTube Music album field)."""
    names, t, own, credited, featured = _song(artist, title)
    album = _prep(album) if album else album
    if album:
        own = own + tuple(fold(clean_title(album)).split())
    if _LIVE_SONG & set(fold(title).split()):  # the title's, not the band Live's
        own = own + _LIVE_WORDS
    vtitle, chan_text = _strip_credits(_prep(cand.title)), _prep(cand.channel_title)
    vtitle = _without_channel(vtitle, chan_text, " ".join(own), credited)
    if chan_text.lower().endswith("vevo") or _names_in(fold(chan_text), credited):
        # "(Cover Audio)" on the artist's channel: the release's audio over its cover art
        vtitle = _COVER_ART.sub(" ", vtitle)
    own = own + _own_cover(vtitle, credited, own, _names_in(fold(chan_text), credited))
    title_sim, artist_sim, official = 0.0, 0.0, ""
    # "Kathryn Williams", and "Williams, Kathryn" as uploaded; then the other credited
    # artists ("Clean Bandit x Elley Duhé" for a song credited to Elley Duhé)
    for a in credited or ("",):
        ts, ats = _title_score(t, vtitle, a)
        cs, off = _channel(chan_text, a)
        if off == "label":
            cs = 0.0
        if a not in names:  # a featured artist alone is weaker evidence
            ats, cs = ats - 5, cs - 5
        if (ts + max(ats, cs), off != "") > (title_sim + artist_sim, official != ""):
            title_sim, artist_sim, official = ts, max(ats, cs), off
    structured = ""
    if cand.artists:  # YouTube Music: the release's own artist list
        from rapidfuzz import fuzz

        sa = max((fuzz.ratio(_squash(a), _squash(x)) for a in credited for x in cand.artists),
                 default=0.0)
        if sa >= artist_sim:
            artist_sim = float(sa)
            structured = "artists field"
        if cand.result_type == "song" and sa >= 90:
            official = "YouTube Music song"  # the release audio itself
    # the duration agrees, or is unknown on either side (0 or less: unknown for a song)
    close = (duration is None or duration <= 0 or cand.duration is None
             or abs(cand.duration - duration) <= CLOSE_S)
    if artist_sim < cfg.min_artist and close:
        why = _release_copy(artist, title, t, album, cand, title_sim, featured)
        if why:
            artist_sim, structured = cfg.min_artist, why
    if artist_sim < cfg.min_artist and title_sim >= 90 and any(
            len(n) >= 4 and f" {n} " in f" {fold(p)} " for n in credited
            for p in _BRACKET_RE.findall(t)) and any(
            len(n) >= 4 and f" {n} " in f" {fold(vtitle)} " for n in credited):
        # the song is the credited artist's remix or version of another's song, named in
        # its title and the video's: "About Damn Time (Purple Disco Machine Remix)"
        artist_sim = 90.0
        structured = "artist named in the song's own remix credit"
    if artist_sim < cfg.min_artist and title_sim >= 90:
        # a film or album song on its label's (or a VEVO) channel, credited to its film
        # and cast rather than to the singer: "Paiya - Thuli Thuli Video | Karthi" on
        # Sony Music South for Haricharan's "Thuli Thuli" from the album "Paiya"
        label = official in ("label", "VEVO") or _is_label(chan_text)
        album_words = set(_album_words(album, t))
        vwords = set(fold(vtitle).split())
        named = album_words & vwords
        if label and named:
            artist_sim = cfg.min_artist
            structured = "album named on a label's channel"
        elif named and album_words - _GENERIC_ALBUM <= vwords and \
                _SOUNDTRACK.search(fold(f"{album or ''} {t}")):
            # a film's or game's soundtrack uploaded under the film's name, not the
            # singer's: "Our Last Summer (Mamma Mia Movie SoundTrack)", "Undertale -
            # Megalovania" for the albums "Mamma Mia! The Movie Soundtrack" and
            # "UNDERTALE Soundtrack"
            # (every word of the album's name: "Mamma Mia" is not "Mamma Mia! Here We Go
            # Again")
            artist_sim = cfg.min_artist
            structured = "album named: the song is from a soundtrack"
    pens = _penalties(vtitle, chan_text, own, tuple(cfg.penalty_words))
    squashed = tuple(x for n in names for x in (n.replace(" ", ""),
                                                 _THE.sub("", n).replace(" ", "")))
    parts = _qualifiers(vtitle, own + tuple(fold(" ".join(credited)).split()) + squashed,
                        f"{' '.join(names)} {fold(t)}", credited + featured,
                        fold(chan_text), _album_words(album, t))
    quals = [q for q, hard in parts if hard]
    vwords = set(fold(vtitle).split())
    live_album = _live_album_named(album, t, artist, vwords)
    missing = [k for k, ws in _required(t) if not vwords & ws
               and not (k == "live" and live_album)]
    # the song names its remixer, arranger or session: the video must name the same
    missing += [" ".join(ws) for ws, anywhere in _version_names(t)
                if not _names_version(ws, anywhere, vtitle, chan_text)]
    main = _main_title(t)
    fv = fold(vtitle)
    pens += [e for e in _effects(fv, " ".join(own)) if e not in pens]
    lost: tuple[str, ...] = ()
    lead_br, other_lead, extra, other_song = "", False, [], ""
    if title_sim >= cfg.min_title and artist_sim >= cfg.min_artist:
        # (only for a candidate that could pass: the others fail anyway)
        # title words match as words: "Link" is not "Linked", "(Other) Song" not "Song"
        lost = _missing_words(main, fv) if ":" not in t else ()
        lead_br = _leading_bracket(vtitle, main, frozenset(own),
                                   _noise_re(f"{' '.join(names)} {fold(t)}"))
        other_lead = _lead_is_other(vtitle, credited, featured, main)
        other_song = _song_head(vtitle, main, names)
        # a "song" result's artists are the release's credits; a "video" result's are
        # its uploader (the channel), which says nothing of the recording's credits
        extra = (_extra_artists(cand.artists, credited + featured, " ".join(own))
                 if cand.artists and cand.result_type == "song" else [])
    # "Part 2" is another song than "Part 1"; "Linked" is not "Link"
    nums = _numbers(main) - _numbers(fv, words=True)
    harmless = [q for q, hard in parts if not hard]
    strict = official in ("Topic", "YouTube Music song")
    dur_pen, dur_note, dur_fail = _duration(
        duration, cand.duration, cfg, FAR_OFF_TOPIC if strict else FAR_OFF,
        bare=_is_bare(vtitle) and official != "VEVO" and cand.result_type != "video")
    score = 0.55 * title_sim + 0.45 * artist_sim
    if official and artist_sim >= cfg.min_artist:
        score += cfg.official_bonus
    # a close duration (a negative penalty) orders candidates but never lifts one over
    # a threshold: alone it says nothing of which recording this is
    score -= (cfg.version_penalty * len(pens) + cfg.qualifier_penalty * len(quals)
              + cfg.qualifier_penalty * HARMLESS_SHARE * len(harmless)
              + max(0.0, dur_pen) + 0.2 * cand.rank)
    raw = score - min(0.0, dur_pen)
    score = max(0.0, min(100.0, score))
    failed = []
    if title_sim < cfg.min_title:
        failed.append(f"title {title_sim:.0f} < {cfg.min_title:g}")
    if artist_sim < cfg.min_artist:
        failed.append(f"artist {artist_sim:.0f} < {cfg.min_artist:g}")
    if dur_fail:
        failed.append("duration far off" if cand.duration and cand.duration > 0
                      else "live stream")
    # credits (an official channel, a close duration) never buy back another version
    if pens and cfg.version_penalty > 0:
        failed.append("another version (" + ", ".join(pens) + ")")
    if quals and cfg.qualifier_penalty > 0:
        failed.append("unexplained qualifier")
    if nums:
        failed.append("the song's number " + ", ".join(sorted(nums)) + " is not in the video")
    if missing:
        failed.append("the song's title names a version (" + ", ".join(missing)
                      + "); the video's does not")
    if lost:
        failed.append("the song's title word(s) " + ", ".join(lost) + " not in the video")
    if lead_br:
        failed.append(f"another song's title ('({lead_br})' leads the title)")
    if other_lead:
        failed.append("another artist's track (the song's artist only featured)")
    if other_song:
        failed.append(f"another song of the album or film ('{other_song} Song |' leads "
                      "the title)")
    if extra and (quals or harmless):
        failed.append("another version (credits " + ", ".join(extra)
                      + " with an unexplained part)")
    if score < cfg.min_score:
        failed.append(f"score {score:.1f} < {cfg.min_score:g}")
    if structured:
        why = structured if structured.startswith("album") else f"the {structured}"
        dur_note = f"artist from {why}" + (f"; {dur_note}" if dur_note else "")
    return Scored(cand, round(score, 1), title_sim, artist_sim, official, pens,
                  dur_note, quals, failed, raw, harmless)


def choose(artist: str, title: str, duration: float | None,
           candidates: Sequence[Candidate], cfg: MatchConfig,
           album: str | None = None) -> Decision:
    """Pick the best acceptable candidate, or say why none is acceptable."""
    if not (artist or "").strip() or not (title or "").strip():
        return Decision("no_match", None, "no_metadata: the song has no artist or title")
    if not candidates:
        return Decision("no_match", None, "no_candidates: the search returned no videos")
    given = [score_candidate(artist, title, duration, c, cfg, album) for c in candidates]
    best = min(given, key=lambda s: (bool(s.failed), -s.raw, s.candidate.rank))
    if not best.failed:
        return Decision("matched", best, best.explain(), given)
    top = max(given, key=lambda s: (s.raw, -s.candidate.rank))
    c = top.candidate
    return Decision("no_match", top,
                    f"below_threshold: best '{c.title}' ({c.channel_title}) scored "
                    f"{top.score:.1f}: {'; '.join(top.failed)}; {top.explain()}", given)

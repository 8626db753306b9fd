"""The allow-list of recorded-speech packages (NOTES.md section 5a) and each package's rule:
which of its files are speech, who speaks, in which group of possibly-same people, under which
licence."""
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Tuple, Union

# The audio files a package's rule is asked about (by name; not every format soundfile reads).
PACKAGE_AUDIO_SUFFIXES = (".ogg", ".oga", ".opus", ".wav", ".flac", ".mp3")
NOTES_RULE = (
    "NOTES.md section 5a: recorded speech for training, validation and model selection comes only "
    "from its allow-list; other recorded-speech packages are reserved for an independent evaluation "
    "of the shipped models and must not be added to a corpus"
)


@dataclass(frozen=True)
class Pick:
    """A file the package's rule keeps: who speaks, which group of possibly-same people, licence."""

    speaker: str
    group: str
    licence: str


@dataclass(frozen=True)
class Skip:
    """A file the package's rule leaves out (reason: a fixed word; detail: which rule)."""

    reason: str
    detail: str = ""


Rule = Callable[[str], Union[Pick, Skip]]


@dataclass(frozen=True)
class PackageRule:
    """An allow-listed package: its licence (Debian's copyright file), what that licence means,
    and the rule that maps a path inside the package to a :class:`Pick` or a :class:`Skip`."""

    licence: str
    meaning: str
    select: Rule
    note: str = ""


def _stem(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name.split(".", 1)[0]


def _lang_group(lang: str) -> str:
    """Group of a KDE-edu / Tux Paint voice: the base language (pt_BR -> pt, sr@latin -> sr,
    en_GB -> en, nb/nn -> no). These voices were recorded by volunteer translators, often the
    same few people across ktuberling, klettres and Tux Paint, so one language is one group."""
    base = re.split(r"[_@]", lang)[0].lower()
    return "lang-" + {"nb": "no", "nn": "no"}.get(base, base)


# --- tuxpaint-stamps-default ---------------------------------------------------------------------
_TUX = re.compile(r"^usr/share/tuxpaint/stamps/.+_desc_([A-Za-z]{2,3}(?:_[A-Z]{2})?)(?:\.ogg)*\.(?:ogg|wav)$")


def _select_tuxpaint(path: str) -> Union[Pick, Skip]:
    """Only the spoken stamp descriptions ``*_desc_<lang>.ogg`` (one ``.wav`` set for pt_BR, and
    one ``_desc_da.ogg.ogg``). ``<stamp>.ogg`` and ``<stamp>_<lang>.ogg`` are the stamps' sound
    effects and localised sounds: left out. Spanish is left out (every file is clipped). One
    speaker id per language: French has two voices nobody can tell apart from the files."""
    match = _TUX.match(path)
    if not match:
        return Skip("not-speech", "tuxpaint: not a *_desc_<lang> description (stamp sound)")
    lang = match.group(1)
    if lang == "es":
        return Skip("language-left-out", "tuxpaint Spanish: every file is clipped")
    return Pick(f"tuxpaint-{lang}", _lang_group(lang), "GPL-2+")


# --- fillets-ng-data, -cs, -nl -------------------------------------------------------------------
_FILLETS = re.compile(r"^usr/share/games/fillets-ng/sound/(.+)/([a-z]{2})/([^/]+)\.ogg$")
FILLETS_MAIN = {"m": "m", "v": "v"}  # malá ryba (small fish), velká ryba (big fish)
FILLETS_PROCESSED = {"pap": "parrot", "p": "parrot (elk level) / Pizla", "robodog": "robot dog",
                     "leb": "skull", "kd": "briefcase tape", "b1": "god", "b2": "god", "hs": "loudspeaker / statue"}


def _fillets_code(stem: str) -> str:
    """The speaker code of a fillets dialogue file: ``<level>-<code>-<line>`` (``vit-hs-klid1``:
    code ``hs``), or in a few levels ``<code>-<line>`` (``v-restartovat``) / ``<line>-<code>``
    (``proc-m``). ``sp-*`` and ``help*`` have no speaker code."""
    parts = stem.split("-")
    if len(parts) >= 3:
        return parts[1]
    if len(parts) == 2:
        if parts[0] in FILLETS_MAIN:
            return parts[0]
        if parts[1] in FILLETS_MAIN:
            return parts[1]
        return parts[0]
    return ""


def _make_fillets(package: str) -> Rule:
    def select(path: str) -> Union[Pick, Skip]:
        """Dialogue only: ``sound/<level>/<lang>/<file>.ogg`` (``music/`` and ``sound/share/*.ogg``
        are music and effects). Kept: the two main voices, the small fish (code ``m``, about 37 min
        in cs and nl) and the big fish (``v``, 37-41 min), one speaker each. Code ``x`` and ``sp-*``
        are sound effects, shouts and mumbling (their dialogue lines have no text). Minor
        characters are left out: some are processed (parrot, robot dog, skull, gods, the
        briefcase tape, the loudspeaker), the rest could not be checked by ear, and each is under
        4 minutes. The base package's ``en`` folder holds only such language-neutral lines."""
        if path.startswith("usr/share/games/fillets-ng/music/"):
            return Skip("not-speech", "fillets: music")
        match = _FILLETS.match(path)
        if not match:
            return Skip("not-speech", "fillets: sound effect outside a language folder")
        lang, stem = match.group(2), match.group(3)
        code = _fillets_code(stem)
        if stem.startswith("sp-") or code in ("x", "sp") or not code:
            return Skip("not-speech", f"fillets: sound effect / shout ({stem})")
        if code in FILLETS_MAIN and package != "fillets-ng-data":
            # One cast per dub: both main voices (and any minor role they may also have voiced)
            # are one group, which stays in training anyway (it is far above SPLIT_TARGET).
            return Pick(f"fillets-{lang}-{FILLETS_MAIN[code]}", f"fillets-{lang}", "GPL-2")
        if code in FILLETS_PROCESSED:
            return Skip("processed-voice", f"fillets: {FILLETS_PROCESSED[code]} ({code})")
        return Skip("minor-character", f"fillets: minor character code {code!r}")

    return select


# --- festvox-ru ----------------------------------------------------------------------------------
def _select_festvox_ru(path: str) -> Union[Pick, Skip]:
    """The raw recordings of the Russian Festival voice (``.../wav/ru_NNNN.wav``): one male
    speaker, studio clean, read sentences. Its own group: nothing suggests he recorded elsewhere."""
    if re.match(r"^usr/share/festival/voices/russian/[^/]+/wav/[^/]+\.wav$", path):
        return Pick("festvox-ru", "festvox-ru", "BSD-style")
    return Skip("not-speech", "festvox-ru: outside wav/")


# --- ktuberling-data -----------------------------------------------------------------------------
def _select_ktuberling(path: str) -> Union[Pick, Skip]:
    """Object words in ``sounds/<lang>/``, one speaker per language. The four Serbian folders
    (sr, sr@latin, sr@ijekavian, sr@ijekavianlatin) hold copies of one speaker: one id ``sr``
    (their byte-identical files fall out as duplicates)."""
    match = re.match(r"^usr/share/ktuberling/sounds/([^/]+)/[^/]+$", path)
    if not match:
        return Skip("not-speech", "ktuberling: outside sounds/<lang>/")
    lang = match.group(1).split("@")[0]
    return Pick(f"ktuberling-{lang}", _lang_group(lang), "GPL-2+")


# --- klettres-data -------------------------------------------------------------------------------
def _select_klettres(path: str) -> Union[Pick, Skip]:
    """Letters and syllables in ``<lang>/{alpha,syllab}/``, one speaker per language folder
    (en and en_GB are two ids, one group). Malayalam is left out: 497 of 521 files clipped."""
    match = re.match(r"^usr/share/klettres/([^/]+)/(?:alpha|syllab)/[^/]+$", path)
    if not match:
        return Skip("not-speech", "klettres: outside <lang>/alpha or <lang>/syllab")
    lang = match.group(1)
    if lang == "ml":
        return Skip("language-left-out", "klettres Malayalam: nearly every file is clipped")
    return Pick(f"klettres-{lang}", _lang_group(lang), "GPL-2+")


# --- hedgewars-data ------------------------------------------------------------------------------
HEDGEWARS_NON_SPEECH = ("Ow", "Ooff", "Laugh", "Poison", "Jump", "Firepunch", "Hmm")
HEDGEWARS_PROCESSED = ("Robot",)


def _select_hedgewars(path: str) -> Union[Pick, Skip]:
    """Voice packs ``Data/Sounds/voices/<pack>/``, one speaker id per pack. Left out: grunts,
    coughs, laughs, jumps and punch yells (``Ow*``, ``Ooff*``, ``Laugh*``, ``Poison*``, ``Jump*``,
    ``Firepunch*``, ``Hmm*``) and the processed Robot pack. Groups: the English-accent packs
    (British, Classic, Default, HillBilly, Mobster, Pirate, Russian, Singer, Surfer) are one
    group, since a few community members voiced several; ``Default_<lang>`` and ``Russian_pl``
    are grouped by their language."""
    match = re.match(r"^usr/share/games/hedgewars/Data/Sounds/voices/([^/]+)/([^/]+)$", path)
    if not match:
        return Skip("not-speech", "hedgewars: sound effect outside voices/")
    pack, name = match.groups()
    if pack in HEDGEWARS_PROCESSED:
        return Skip("processed-voice", f"hedgewars: {pack} pack")
    if name.startswith(HEDGEWARS_NON_SPEECH):
        return Skip("not-speech", f"hedgewars: grunt/laugh/cough ({_stem(name)})")
    lang = pack.split("_", 1)[1] if "_" in pack else "en"
    return Pick(f"hedgewars-{pack}", f"hedgewars-{lang}", "GFDL-1.3")


# --- gcin-voice ----------------------------------------------------------------------------------
GCIN_SPEAKERS = {
    "3": ("gcin-liu", "GPL-3 or LGPL-3"),  # Edward Der-Hua Liu, per debian/copyright
    "5": ("gcin-chulo", "CC-BY-3.0"),  # Chu Lo's voice (ChionMeilin), per debian/copyright
}


def _select_gcin(path: str) -> Union[Pick, Skip]:
    """Mandarin syllables ``ogg/<syllable>/{3,5}.ogg``: ``3.ogg`` and ``5.ogg`` are two people
    with two licences (debian/copyright), so licence is per clip here."""
    match = re.match(r"^usr/share/gcin-voice/ogg/[^/]+/([35])\.ogg$", path)
    if not match:
        return Skip("not-speech", "gcin-voice: not ogg/<syllable>/{3,5}.ogg")
    speaker, licence = GCIN_SPEAKERS[match.group(1)]
    return Pick(speaker, speaker, licence)


# --- kajongg -------------------------------------------------------------------------------------
def _select_kajongg(path: str) -> Union[Pick, Skip]:
    """Mahjongg calls in ``voices/<name>/`` (English) and ``voices/de/<name>/`` (German). The same
    tag (male1, female2, ...) in both languages is taken to be one person: one speaker id."""
    match = re.match(r"^usr/share/kajongg/voices/(?:de/)?([a-z]+[0-9]*)/[^/]+\.ogg$", path)
    if not match:
        return Skip("not-speech", "kajongg: outside voices/")
    name = match.group(1)
    return Pick(f"kajongg-{name}", f"kajongg-{name}", "GPL-2+")


_GPL = ("copies and modified versions may be distributed only under the same licence, with its text and "
        "the corresponding source")
#: The allow-list of NOTES.md 5a: package -> licence, its meaning and the selection rule.
ALLOW_LIST: Dict[str, PackageRule] = {
    "tuxpaint-stamps-default": PackageRule("GPL-2+", "GNU GPL version 2 or any later version: " + _GPL, _select_tuxpaint),
    "fillets-ng-data-cs": PackageRule("GPL-2", "GNU GPL version 2: " + _GPL, _make_fillets("fillets-ng-data-cs")),
    "fillets-ng-data-nl": PackageRule("GPL-2", "GNU GPL version 2: " + _GPL, _make_fillets("fillets-ng-data-nl")),
    "fillets-ng-data": PackageRule("GPL-2", "GNU GPL version 2: " + _GPL, _make_fillets("fillets-ng-data"),
                                   "only music, effects and minor characters: nothing kept"),
    "festvox-ru": PackageRule("BSD-style", "permissive: use, copy, modify and distribute freely, keeping the copyright "
                              "notice and disclaimer, marking modifications, not using the authors' names to endorse "
                              "derived works", _select_festvox_ru),
    "ktuberling-data": PackageRule("GPL-2+", "GNU GPL version 2 or any later version (NOTES: some files GPL-3+): " + _GPL,
                                   _select_ktuberling),
    "klettres-data": PackageRule("GPL-2+", "GNU GPL version 2 or any later version: " + _GPL, _select_klettres),
    "hedgewars-data": PackageRule("GFDL-1.3", "GNU Free Documentation License 1.3: copies and modified versions under "
                                  "the GFDL, with the licence text and the copyright notices", _select_hedgewars),
    "gcin-voice": PackageRule("GPL-3 or LGPL-3; CC-BY-3.0", "3.ogg: GNU GPL/LGPL version 3 (" + _GPL + "); 5.ogg: "
                              "Creative Commons Attribution 3.0 (any use, with credit to the author)", _select_gcin),
    "kajongg": PackageRule("GPL-2+", "GNU GPL version 2 or any later version: " + _GPL, _select_kajongg),
}


def check_allowed(packages: Iterable[str]) -> List[str]:
    """The packages in allow-list order; a ValueError citing the rule for any other."""
    packages = list(packages)
    refused = [p for p in packages if p not in ALLOW_LIST]
    if refused:
        raise ValueError(f"refusing {', '.join(refused)}: not on the allow-list ({', '.join(ALLOW_LIST)}). {NOTES_RULE}.")
    return [p for p in ALLOW_LIST if p in packages]


def select_package(package: str, root: Path) -> Tuple[List[Tuple[str, Pick]], List[Tuple[str, Skip]]]:
    """Every audio file of an unpacked package through its rule, in sorted path order."""
    rule = ALLOW_LIST[package].select
    picked, skipped = [], []
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name.lower().endswith(PACKAGE_AUDIO_SUFFIXES))
    for file in files:
        rel = file.relative_to(root).as_posix()
        decision = rule(rel)
        (picked if isinstance(decision, Pick) else skipped).append((rel, decision))
    return picked, skipped

"""Offline speech from free text-to-speech engines (Debian main: espeak-ng, flite).

WSJ0 is licensed; these engines let anyone build a speech-separation corpus offline. Voices are
engine voices x variants x pitch/speed settings. TTS prosody is flatter than human speech, so
a model trained on it is a demo: its numbers on real speech will be lower.
"""
import os
import shutil
import tempfile
from pathlib import Path
from dataclasses import dataclass
from functools import lru_cache
from typing import List, Tuple

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from .external import apt_get, run_program

TTS_TOOLS = ("espeak-ng", "flite")
INSTALL_COMMAND = "apt-get install -y espeak-ng flite"

# espeak-ng English accents and the voice variants that are voiced (whisper, croak and grandpa
# are (nearly) unvoiced and are left out).
ESPEAK_ACCENTS = ("en-us", "en", "en-gb-scotland", "en-029", "en-gb-x-rp")
ESPEAK_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5")
# flite's four voices recorded from real speakers (awb_time only speaks clock times).
FLITE_VOICES = ("kal", "awb", "rms", "slt")


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker.

    ``speaker`` names the timbre (engine voice and variant); voices that share it differ only in
    pitch and speed, and corpus splits never share a speaker.
    """

    engine: str
    speaker: str
    pitch: int  # espeak-ng: 0-99 (50 is neutral); flite: percent of the voice's mean F0
    speed: int  # espeak-ng: words per minute; flite: percent of the voice's duration

    @property
    def name(self) -> str:
        return f"{self.speaker}-p{self.pitch}-s{self.speed}"


def voice_bank() -> List[Voice]:
    """The 128 voices: 60 espeak-ng speakers (5 accents x 12 variants) and 4 flite speakers,
    each at two pitch/speed settings."""
    voices = []
    for accent in ESPEAK_ACCENTS:
        for variant in ESPEAK_VARIANTS:
            speaker = f"espeak-{accent}+{variant}"
            voices += [Voice("espeak-ng", speaker, 40, 150), Voice("espeak-ng", speaker, 65, 170)]
    for name in FLITE_VOICES:
        speaker = f"flite-{name}"
        voices += [Voice("flite", speaker, 90, 100), Voice("flite", speaker, 115, 110)]
    return voices


@lru_cache(maxsize=1)
def sentences() -> Tuple[str, ...]:
    """The corpus's 289 English sentences of 8-20 words (``sentences.txt`` in the data package).

    They were taken once from CPython 3.11's own documentation (``pydoc_data.topics``) and are
    frozen in the package because that text changes between Python versions, and with it every
    mixture of the corpus: the same seed now gives the same corpus on any Python.
    """
    text = (Path(__file__).resolve().parents[1] / "sentences.txt").read_text(encoding="utf-8")
    return tuple(line for line in text.splitlines() if line)


def missing_tts_tools() -> List[str]:
    return [tool for tool in TTS_TOOLS if shutil.which(tool) is None]


def require_tts_tools() -> None:
    """Raise a clear error, with the install command, when a TTS engine is missing."""
    missing = missing_tts_tools()
    if missing:
        raise RuntimeError(
            f"{' and '.join(missing)} not found: the demo corpus is synthesised with espeak-ng and flite "
            f"(Debian/Ubuntu: `sudo {INSTALL_COMMAND}`, or `asteroid-deepmask tts-tools --install` as root)."
        )


def install_tts_tools() -> None:
    """Install the TTS engines with apt-get (root, or through sudo)."""
    if not missing_tts_tools():
        return
    if shutil.which("apt-get") is None:
        raise RuntimeError("No apt-get here: install espeak-ng and flite with your package manager.")
    hint = f"Install them yourself (`sudo {INSTALL_COMMAND}`), or run this as root."
    apt_get(["update", "-qq"], hint)
    apt_get(INSTALL_COMMAND.split()[1:], hint)
    require_tts_tools()


def synthesize(voice: Voice, text: str, sample_rate: int = 8000) -> np.ndarray:
    """Speak ``text`` with ``voice``; mono float64 at ``sample_rate``."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "utt.wav")
        if voice.engine == "espeak-ng":
            name = voice.speaker[len("espeak-") :]
            cmd = ["espeak-ng", "-v", name, "-p", str(voice.pitch), "-s", str(voice.speed), "-w", path, text]
        else:
            name = voice.speaker[len("flite-") :]
            cmd = ["flite", "-voice", name, "--setf", f"duration_stretch={voice.speed / 100}"]
            cmd += ["--setf", f"int_f0_target_mean={_flite_f0(name) * voice.pitch / 100:.0f}", "-t", text, "-o", path]
        run_program(cmd, f"{voice.engine} speaking with voice {voice.speaker}",
                    "Check the engines with `asteroid-deepmask tts-tools`.",
                    capture_stdout=True)
        wav, rate = sf.read(path, dtype="float64")
    if wav.ndim > 1:
        wav = wav.mean(axis=1)
    if rate != sample_rate:
        wav = resample_poly(wav, sample_rate, rate)  # scipy reduces by the gcd
    return wav


def _flite_f0(name: str) -> float:
    # Mean F0 (Hz) of flite's voices, so that "pitch" is relative for each.
    return {"slt": 170.0}.get(name, 105.0)

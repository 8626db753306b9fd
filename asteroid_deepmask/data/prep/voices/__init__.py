"""A corpus of recorded human speech from Debian packages (``asteroid-deepmask voices``).

Why: text-to-speech alone does not transfer to human voices (NOTES.md section 5b: models trained
on TTS score below 0 dB SI-SDRi on recorded speech), and WSJ0 is licensed. Debian ``main`` ships
about 6.5 hours of recorded speech from 60-80 people, spread over a handful of game and
education packages; NOTES.md section 5a lists them. This module turns those packages into the
"folder of single-speaker recordings" layout that :mod:`asteroid_deepmask.data.speakers` trains on::

    OUT/debs/*.deb                      the packages (``apt-get download``; nothing is installed)
    OUT/unpacked/<package>/...          ``dpkg-deb -x`` of each
    OUT/work/<package>/...              decoded, trimmed 8 kHz clips (a per-package cache)
    OUT/speakers/{tr,cv,tt,xt}/<speaker>/<clip>.wav   xt: packages held out whole (cross-corpus test)
    OUT/manifest.csv                    one row per kept clip, with its package, licence and split
    OUT/excluded.csv                    every audio file left out, and why
    OUT/LICENCES.md                     the licences, per package
    OUT/voices.json                     written last: the settings and the split x package table

**Rule** (NOTES.md 5a): recorded speech for training, validation and model selection comes only
from the allow-list :data:`.rules.ALLOW_LIST`; other recorded-speech packages are reserved for an
independent evaluation of the shipped models. :func:`.build.build_voices_corpus` refuses anything else.

Speaker identities are not documented by the packages: they are read off folder names and file
name codes, merged where two ids might be one person (:class:`.rules.Pick` ``group``), and splits are
made over groups, so that one person never lands in two splits. Sex is *estimated* from the
median F0 of each speaker's first ~30 s (:func:`.audio.estimate_sex`): a rough label for balancing
the test set, not a fact about anybody.

Modules: :mod:`.rules` (the allow-list and each package's selection rule), :mod:`.debs` (fetching
and unpacking the packages), :mod:`.audio` (decoding, clipping, trimming, the F0 / sex estimate),
:mod:`.splits` (speaker groups to tr/cv/tt, held-out packages to xt), :mod:`.reports` (the split table, LICENCES.md) and
:mod:`.build` (:func:`~.build.build_voices_corpus`).
"""
from .build import build_voices_corpus
from .reports import format_table

__all__ = ["build_voices_corpus", "format_table"]

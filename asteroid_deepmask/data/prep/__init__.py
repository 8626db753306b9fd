"""Corpus preparation: downloading, converting and generating the corpora the datasets read.

* :mod:`.external`: external programs (apt-get, a C compiler, sph2pipe, scripts) and downloads.
* :mod:`.tts` and :mod:`.synthetic`: the offline demo corpus of synthetic speech.
* :mod:`.speaker_mixtures`: fixed validation and test mixtures from a folder of speaker folders.
* :mod:`.wsj0` (SPHERE to wav) and :mod:`.wsj0mix` (the standard mixture lists, mixing): wsj0-2mix / wsj0-3mix.
* :mod:`.whamr`: WHAMR! with the official scripts, and its json metadata.
* :mod:`.librimix`: Libri2Mix / Libri3Mix from LibriSpeech, WHAM! noise and the official metadata.
* :mod:`.voices`: the corpus of recorded human speech from Debian packages.

Everything here may use the lower modules of :mod:`asteroid_deepmask.data` (``io``, ``layout``,
``levels``, ``mixing``, ``speakers``); nothing outside ``prep`` imports it, except the command line.
"""

"""The training engine: recipe configurations (:mod:`.conf`), training with Asteroid's ``System`` and
Lightning (:mod:`.train`, :mod:`.system`, :mod:`.precision`) and evaluation (:mod:`.evaluate`).

The recipes' ``run.sh`` (through the CLI), the CLI and :mod:`asteroid_deepmask.paper` call these
functions. Import them from their modules: importing this package alone loads nothing heavy.
"""

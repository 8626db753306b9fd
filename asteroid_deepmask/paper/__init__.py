"""The paper (Li, Hu, Luo, Interspeech 2022) as numbers and experiments: every number it reports
(:mod:`.tables`), its Tables 1-3 as a grid of full-scale experiments (:mod:`.grid`), and its claims
re-tested at small scale (:mod:`.study`). Both run the engine's train and evaluate functions in Python."""

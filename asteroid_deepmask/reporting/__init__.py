"""What a finished experiment leaves for people: its report (:mod:`.report`: tables, spectrograms,
learning curve, per-package metrics from :mod:`.breakdown`) and its model card (:mod:`.publish`)."""

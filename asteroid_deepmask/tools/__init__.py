"""Tools beside the pipeline: complexity counts (:mod:`.complexity`) and benchmarks that print numbers (:mod:`.bench`)."""

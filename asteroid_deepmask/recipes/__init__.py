"""The logic of the egs/ recipes: training, evaluation and reports, importable and tested."""

"""The package version, apart so that the models can record it without importing the package root."""
__version__ = "0.1.0.dev0"

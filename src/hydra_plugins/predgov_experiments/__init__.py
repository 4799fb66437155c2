"""Hydra search-path plugin: puts predgov's ``experiments/`` folder on the config search path."""

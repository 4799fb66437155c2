"""Pipeline stages: each takes its typed config section and writes into the run directory."""

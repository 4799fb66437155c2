"""predgov.warn: planned stage (see DESIGN.md); nothing public yet."""

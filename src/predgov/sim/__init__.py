"""predgov.sim: planned stage (see DESIGN.md); nothing public yet."""

"""predgov.target: planned stage (see DESIGN.md); nothing public yet."""

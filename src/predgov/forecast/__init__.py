"""predgov.forecast: planned stage (see DESIGN.md); nothing public yet."""

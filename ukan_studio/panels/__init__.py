"""Dock panels: they show state and emit intents; they never call torch."""

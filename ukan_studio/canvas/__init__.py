"""The image canvas, its overlay, the mask-editing tools and their undo commands."""

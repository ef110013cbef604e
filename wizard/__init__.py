"""dream-pixel-setup's UI-free core."""

__version__ = "0.1.0"

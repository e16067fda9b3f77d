"""The package version, in one place (the project file reads it from here)."""

__version__ = "0.1.0"

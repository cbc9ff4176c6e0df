"""The version of briefer, in one place (read by the build and by `brief --version`)."""

__version__ = "0.1.0"

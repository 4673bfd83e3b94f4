"""Read handwritten digits and numbers from drawings, scans and photos."""

__version__ = "0.1.0"

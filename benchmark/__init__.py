"""benchmark: one YAML suite in, a searched, evaluated and reported model comparison out."""

__version__ = "0.1.0"

"""Realnet: a typed tree of resources over pluggable storage."""

__version__ = "0.1.0"

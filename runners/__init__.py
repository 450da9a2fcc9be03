"""Thin command-line entry points over ``core``."""

"""dockergen: scaffold secure container setups and keep them up to date."""

__version__ = "0.1.0"

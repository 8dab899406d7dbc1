"""Subcommands of ``massline insight``."""

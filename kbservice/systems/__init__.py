"""Registered systems: the inventory's machines and their stored verdicts, kept current."""

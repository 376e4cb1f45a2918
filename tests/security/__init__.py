"""Attacks replayed against real processes on loopback (issue 11)."""

"""Benchmarks: the baseline design and the one command that compares it with examvault."""

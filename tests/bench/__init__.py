"""Benchmark scripts (run by hand, never by pytest): they print figures, they assert nothing."""

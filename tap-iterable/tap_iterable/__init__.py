"""Singer tap for Iterable."""

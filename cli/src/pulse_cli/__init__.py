"""pulse: the operator command line."""

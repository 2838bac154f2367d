"""Self-debugging: diagnostics, known failure patterns, fix and test generation."""

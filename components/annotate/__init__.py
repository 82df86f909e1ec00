"""The annotate step."""

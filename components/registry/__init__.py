"""The registry step."""

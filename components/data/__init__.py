"""Acquire: import, bundled sample data, scrape, augment, dataset diff."""

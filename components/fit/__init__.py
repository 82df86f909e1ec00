"""Garment fit: worn ratios (garment as worn / the same body), tight-fitted-loose labels and their params."""

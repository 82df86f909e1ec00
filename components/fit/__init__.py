"""Garment fit: worn ratios (garment as worn / the same body), tight-fitted-loose labels and their params.

FIT_LABELS lives here, not only in labels.py, so code that only reads labels (validate) imports nothing else.
"""

FIT_LABELS: tuple[str, ...] = ("tight", "fitted", "loose")

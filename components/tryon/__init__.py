"""`vton tryon`: run a trained try-on model (any family) on one pair or a list of pairs."""

"""`vton data augment`: paired, geometry-consistent augmentation of the annotated train split.

mirror.py (left/right swaps) -> transforms.py (albumentations pipelines from params) ->
sample.py (one sample's arrays through them) -> run.py (the dataset and its manifest).
"""

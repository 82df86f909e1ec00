"""Plain-PyTorch re-implementations of the research annotators' networks, loading their official checkpoints."""

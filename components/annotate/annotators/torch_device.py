"""Device and precision choice shared by the PyTorch annotators (GPU batching with float16 where allowed)."""

from __future__ import annotations

import torch


def resolve_device(preference: str) -> torch.device:
    """'auto' -> CUDA when available, else CPU; 'cuda' without a GPU is an error the user can fix."""
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if preference == "cuda" and not torch.cuda.is_available():
        from components.errors import ConfigError

        raise ConfigError("annotate: device 'cuda' requested but no CUDA GPU is visible",
                          hint="set the annotator's device to 'auto' or 'cpu' in params.yaml")
    return torch.device(preference)


def resolve_dtype(device: torch.device, half: bool) -> torch.dtype:
    """float16 on CUDA when `half`, float32 otherwise (CPU float16 convolutions are slow or unsupported)."""
    return torch.float16 if half and device.type == "cuda" else torch.float32


def chunks(items: list, size: int) -> list[list]:
    """`items` split into consecutive lists of at most `size`."""
    return [items[i : i + size] for i in range(0, len(items), size)]

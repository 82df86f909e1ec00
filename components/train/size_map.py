"""CatVTON-Flux reads the spatial size map through FLUX.1 Fill's mask path: extra packed channels of its input.

FLUX.1 Fill's transformer reads, per token, [packed noisy latent | packed masked-image latent | packed mask]:
64 + 64 + 256 = 384 features for the real model (16 + 16 + 16 for the tiny smoke one). The mask enters at pixel
resolution, folded into vae_scale_factor^2 planes (8x8 pixels per latent), then into 2x2 latent patches
(components/train/flow_matching.py `pack_fill_mask`, which matches the pipeline's own packing). The size map
(components/train/families/size.py: the region the garment is expected to cover, laid on the canvas like the
repaint mask) is packed the same way and appended: 4 * vae_scale_factor^2 more features (256 for the real
model, 16 for the tiny one). `x_embedder` reads them with a weight of its own that starts at zero, so a fresh
size-aware model computes exactly what the size-blind one does, and training moves only that weight (beside
the LoRA or the attention parameters). The weight is saved beside the adapter (SIZE_MAP_WEIGHT_NAME).

In training the map is appended where the step concatenates the inputs (components/train/step.py); at
inference FluxFillPipeline builds the input itself (its `masked_image_latents` argument cannot be used with an
`image` in diffusers 0.42), so `feeding_size_map` appends the map's tokens to the transformer's hidden states
for the length of one pipeline call.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from components.train.flow_matching import pack_fill_mask

SIZE_MAP_WEIGHT_NAME = "size_map_embedder.safetensors"
SIZE_MAP_PARAMETER = "x_embedder.size_weight"  # the new weight's name in the transformer
SIZE_MAP_PLANES = 1  # one plane at pixel resolution, like the mask


def size_map_channels(vae_scale_factor: int) -> int:
    """Packed features the size map adds per token: its plane folded like the mask, then 2x2 latent patches."""
    return SIZE_MAP_PLANES * 4 * vae_scale_factor**2


class SizeMapEmbedder(nn.Module):
    """FLUX's `x_embedder` (its own weight and bias, under their own names) plus a zero-initialised weight for
    the packed size-map features appended to its input.

    The two parts are computed apart, so the base part is bit for bit the size-blind embedding and the new part
    adds exact zeros until training moves it.
    """

    def __init__(self, base: nn.Linear, extra: int) -> None:
        super().__init__()
        self.in_features, self.out_features, self.extra = base.in_features, base.out_features, extra
        self.weight, self.bias = base.weight, base.bias
        self.size_weight = nn.Parameter(torch.zeros(base.out_features, extra, device=base.weight.device,
                                                    dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The size-blind embedding of the first `in_features` features plus the size map's contribution."""
        n = self.in_features
        if x.shape[-1] != n + self.extra:
            raise ValueError(f"x_embedder reads {n} features plus {self.extra} of the size map, got {x.shape[-1]}")
        out = F.linear(x[..., :n].contiguous(), self.weight, self.bias)
        extra = F.linear(x[..., n:].to(self.size_weight.dtype), self.size_weight)
        return out + extra.to(out.dtype)


def read_size_map(transformer: nn.Module, vae_scale_factor: int) -> SizeMapEmbedder:
    """Make `transformer` read the packed size map (x_embedder widened, new weight zero and trainable); returns
    the embedder. Idempotent: a transformer that already reads it is left as it is."""
    embedder = transformer.x_embedder
    if isinstance(embedder, SizeMapEmbedder):
        return embedder
    if not isinstance(embedder, nn.Linear):
        raise TypeError(f"x_embedder is a {type(embedder).__name__}, not the nn.Linear of a FLUX transformer "
                        "(is a LoRA targeting x_embedder? train.lora_target_modules must leave it out)")
    wide = SizeMapEmbedder(embedder, size_map_channels(vae_scale_factor))
    transformer.x_embedder = wide
    return wide


def size_map_state(transformer: nn.Module) -> dict[str, torch.Tensor]:
    """The size map's weight, for SIZE_MAP_WEIGHT_NAME."""
    embedder = transformer.x_embedder
    if not isinstance(embedder, SizeMapEmbedder):
        raise ValueError("this transformer does not read a size map (read_size_map was not applied)")
    return {"size_weight": embedder.size_weight.detach().float().cpu().contiguous()}


def load_size_map(transformer: nn.Module, path: Path, vae_scale_factor: int) -> SizeMapEmbedder:
    """Widen `transformer` to read the size map and load the trained weight saved at `path`."""
    from safetensors.torch import load_file

    from components.errors import ConfigError

    embedder = read_size_map(transformer, vae_scale_factor)
    if not Path(path).is_file():
        raise ConfigError(f"{path}: not found; this model's model.json says it reads a size map",
                          hint="retrain the model, or copy the adapter folder whole")
    weight = load_file(str(path))["size_weight"]
    if weight.shape != embedder.size_weight.shape:
        raise ConfigError(f"{path}: size-map weight {tuple(weight.shape)} does not fit this base model "
                          f"({tuple(embedder.size_weight.shape)})", hint="load it over the base it was trained on")
    with torch.no_grad():
        embedder.size_weight.copy_(weight.to(embedder.size_weight.device, embedder.size_weight.dtype))
    return embedder


def size_map_tokens(canvas_map: torch.Tensor, vae_scale_factor: int) -> torch.Tensor:
    """A canvas-sized size map (B, 1, H, 2W) in {0, 1} -> its packed tokens, exactly as the mask is packed."""
    return pack_fill_mask(canvas_map.float(), vae_scale_factor)


@contextmanager
def feeding_size_map(transformer: nn.Module, tokens: torch.Tensor) -> Iterator[None]:
    """While open, every call of `transformer` gets `tokens` (1 or B, tokens, features) appended to its
    hidden states: the pipeline's own input plus the size map, as the trainer concatenates them."""

    def append(_module, args, kwargs):
        hidden = kwargs["hidden_states"] if "hidden_states" in kwargs else args[0]
        extra = tokens.to(hidden.device, hidden.dtype).expand(hidden.shape[0], -1, -1)
        wide = torch.cat([hidden, extra], dim=-1)
        if "hidden_states" in kwargs:
            return args, {**kwargs, "hidden_states": wide}
        return (wide, *args[1:]), kwargs

    handle = transformer.register_forward_pre_hook(append, with_kwargs=True)
    try:
        yield
    finally:
        handle.remove()


# -- the map itself: the families' expected garment region, on the person panel -----------------------------------
def sample_size_map(sample, panel: tuple[int, int]) -> np.ndarray:
    """A training sample's size map on its person panel (bool h x w): its worn region as the baselines read it
    (its parse's garment labels; without a parse the repainted body), the repainted region when that is empty."""
    from components.train.families.representation import collate_inputs, load_sample_inputs
    from components.train.families.size import request_size_map

    size_map, _ = request_size_map(collate_inputs([load_sample_inputs(sample, panel)]), None)
    return size_map[0, 0].numpy() > 0.5


def photo_size_map(person, garment, mask, category: str, panel: tuple[int, int], annotate, photos=None,
                   size_ratios: tuple[float, float, float] | None = None) -> np.ndarray:
    """The size map of a bare photo on its person panel (bool h x w): the photo annotated as the baseline
    predictors annotate it, its worn region rescaled by `size_ratios` / its own ratios (None: as worn).

    Raises ValueError when the photo cannot be annotated (no person found)."""
    from PIL import Image

    from components.train.families.representation import collate_inputs, frame_crop, inputs_from_photo
    from components.train.families.size import request_size_map

    inputs = inputs_from_photo(person, garment, mask, category, (annotate.width, annotate.height), annotate,
                               photos=photos)
    size_map, _ = request_size_map(collate_inputs([inputs]), None if size_ratios is None else [size_ratios])
    frame = Image.fromarray((size_map[0, 0].numpy() > 0.5).astype(np.uint8) * 255)
    # The frame letterboxes the photo; the canvas resizes the photo itself: crop back to it first.
    return np.asarray(frame_crop(frame, inputs.frame_box).resize(panel, Image.NEAREST)) > 127

"""Content-keyed caches of VAE latents and text embeddings, shared by every run on the same data and model.

A latent file's key hashes the three input files' bytes, the panel size, the mask threshold and the VAE's
fingerprint; a prompt's key hashes the text and the text encoders' fingerprint. Nothing is encoded twice,
across runs, profiles or retrains, while the inputs are unchanged.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from components.hashing import sha256_file
from components.progress import progress_bar
from components.train.base_model import BaseModel
from components.train.canvas import make_canvas
from components.train.data import TrainSample


def latent_key(sample: TrainSample, panel: tuple[int, int], threshold: int, fingerprint: str) -> str:
    """The cache key of one sample's latents: content of its files + everything that shapes the encoding."""
    parts = [sha256_file(p) for p in (sample.person, sample.garment, sample.mask)]
    parts += [f"{panel[0]}x{panel[1]}", str(threshold), fingerprint, "v1"]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def size_map_key(sample: TrainSample, panel: tuple[int, int]) -> str:
    """The cache key of one sample's size map: the files its worn region is read from, category and panel."""
    parts = [sha256_file(p) if p is not None else "-"
             for p in (sample.person, sample.mask, sample.parse, sample.person_mask)]
    parts += [sample.category, f"{panel[0]}x{panel[1]}", "size-map-v1"]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def prompt_key(prompt: str, max_sequence_length: int, fingerprint: str) -> str:
    """The cache key of one prompt's embeddings."""
    return hashlib.sha256(f"{prompt}|{max_sequence_length}|{fingerprint}|v1".encode()).hexdigest()[:32]


def _save_atomic(tensors: dict[str, torch.Tensor], path: Path) -> None:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    save_file({k: v.contiguous().cpu() for k, v in tensors.items()}, str(tmp))
    tmp.replace(path)


def _to_tensor(img: Image.Image) -> torch.Tensor:
    """RGB PIL -> (1, 3, H, W) in [-1, 1], as the pipelines' image processor."""
    arr = np.asarray(img.convert("RGB"), dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0)


@torch.no_grad()
def encode_canvas(base: BaseModel, image: Image.Image, mask: Image.Image) -> dict[str, torch.Tensor]:
    """Latents of the canvas, of the masked canvas (FluxFillPipeline's `image * (1 - mask)`) and the pixel mask."""
    vae = base.pipe.vae
    device, dtype = vae.device, vae.dtype
    x = _to_tensor(image).to(device, dtype)
    m = torch.from_numpy((np.asarray(mask) >= 128).astype(np.float32))[None, None].to(device, dtype)
    both = torch.cat([x, x * (1 - m)])
    lat = vae.encode(both).latent_dist.mode()
    lat = (lat - vae.config.shift_factor) * vae.config.scaling_factor
    return {"latents": lat[0].float(), "masked_latents": lat[1].float(), "mask": m[0].to(torch.uint8)}


@dataclass
class CacheReport:
    """How many latents were encoded now versus found in the cache."""

    encoded: int = 0
    cached: int = 0


def cache_latents(
    samples: list[TrainSample],
    panels: list[tuple[int, int]],
    base: BaseModel,
    cache_dir: Path,
    threshold: int,
) -> tuple[list[Path], CacheReport]:
    """One latent file per sample (encoding only those not in the cache); returns the files in sample order."""
    root = cache_dir / "latents"
    files, report = [], CacheReport()
    bar = progress_bar(total=len(samples), desc="cache latents", unit="img")
    for sample, panel in zip(samples, panels):
        path = root / f"{latent_key(sample, panel, threshold, base.fingerprint)}.safetensors"
        if path.is_file():
            report.cached += 1
        else:
            with Image.open(sample.garment) as g, Image.open(sample.person) as p, Image.open(sample.mask) as m:
                canvas = make_canvas(g, p, m, panel, threshold)
            _save_atomic(encode_canvas(base, canvas.image, canvas.mask), path)
            report.encoded += 1
        files.append(path)
        bar.update(1)
        bar.set_postfix(encoded=report.encoded, cached=report.cached)
    bar.close()
    return files, report


def cache_size_maps(samples: list[TrainSample], panels: list[tuple[int, int]], cache_dir: Path) -> list[Path]:
    """One canvas-sized size map per sample (components/train/size_map.py; uint8 {0, 1}, 1 x H x 2W like the
    mask), computed only where the cache lacks it; returns the files in sample order."""
    from components.train.canvas import size_map_canvas
    from components.train.size_map import sample_size_map

    root = cache_dir / "size_maps"
    files = []
    bar = progress_bar(total=len(samples), desc="cache size maps", unit="img")
    for sample, panel in zip(samples, panels):
        path = root / f"{size_map_key(sample, panel)}.safetensors"
        if not path.is_file():
            canvas = np.asarray(size_map_canvas(sample_size_map(sample, panel), panel)) > 127
            _save_atomic({"size_map": torch.from_numpy(canvas.astype(np.uint8))[None]}, path)
        files.append(path)
        bar.update(1)
    bar.close()
    return files


@torch.no_grad()
def encode_prompts(base: BaseModel, prompts: list[str], cache_dir: Path) -> dict[str, torch.Tensor]:
    """Stacked T5 sequence embeddings and CLIP pooled embeddings for `prompts`, through the cache."""
    from safetensors.torch import load_file

    seq, pooled = [], []
    for prompt in prompts:
        path = cache_dir / "text" / f"{prompt_key(prompt, base.max_sequence_length, base.fingerprint)}.safetensors"
        if not path.is_file():
            embeds, pool, _ = base.pipe.encode_prompt(
                prompt=prompt, prompt_2=prompt, device=base.pipe.text_encoder.device,
                max_sequence_length=base.max_sequence_length,
            )
            _save_atomic({"prompt_embeds": embeds[0].float(), "pooled": pool[0].float()}, path)
        item = load_file(str(path))
        seq.append(item["prompt_embeds"])
        pooled.append(item["pooled"])
    return {"prompt_embeds": torch.stack(seq), "pooled": torch.stack(pooled)}

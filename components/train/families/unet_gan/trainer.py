"""The U-Net GAN trainer: D and G steps per batch, exact resume, validation grids, the packaged model."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from components.train.families.base import FamilyContext
from components.train.families.checkpoint import load_checkpoint
from components.train.families.data import SampleInputs
from components.train.families.grid import pick_per_category, validation_grid
from components.train.families.loop import LoopPosition, LoopResult, LoopSpec, run_loop
from components.train.families.perceptual import PerceptualStatus, load_perceptual, perceptual_loss, style_loss
from components.train.families.representation import PersonInputs, collate_inputs
from components.train.families.size import SIZE_CHANNELS, size_inputs
from components.train.families.unet_gan.losses import feature_matching_loss, lsgan_d_loss, lsgan_g_loss, masked_l1
from components.train.families.unet_gan.networks import (
    CONDITION_CHANNELS,
    PatchDiscriminator,
    UNetGenerator,
    count_parameters,
)
from components.train.families.unet_gan.params import UnetGanParams

HEADLINE = "g_total"


def device_for(choice: str) -> torch.device:
    """cuda when asked for or (auto) available, else cpu."""
    return torch.device("cuda" if choice == "cuda" or (choice == "auto" and torch.cuda.is_available()) else "cpu")


def build_generator(gp: UnetGanParams, size_conditioning: bool = False) -> UNetGenerator:
    """The generator these params describe; size-conditioned: the same network reading the size planes through
    zero-initialised weights (identical outputs at initialisation)."""
    G = UNetGenerator(base=gp.base_channels, bottleneck=gp.bottleneck_channels, res_blocks=gp.res_blocks,
                      attention=gp.attention)
    return G.widen_for_size(SIZE_CHANNELS) if size_conditioning else G


def parameter_count(gp: UnetGanParams) -> int:
    """Trainable parameters of the generator and the PatchGAN these params describe (built on CPU, not trained)."""
    return count_parameters(build_generator(gp)) + count_parameters(PatchDiscriminator(base=gp.disc_channels))


def condition(batch: dict, size_channels: int = 0) -> torch.Tensor:
    """The generator's input and D's condition: person representation + garment RGB + garment mask
    (+ the size map and ratio planes of a size-conditioned model)."""
    parts = [batch["representation"], batch["garment"], batch["cloth_mask"]]
    if size_channels:
        parts.append(size_inputs(batch).to(batch["garment"].device))
    return torch.cat(parts, dim=1)


def composite(raw: torch.Tensor, batch: dict) -> torch.Tensor:
    """The generated pixels inside the agnostic mask, the person's own (agnostic image) outside it."""
    m = batch["agnostic_mask"]
    return m * raw + (1 - m) * batch["agnostic"]


def generate(G: torch.nn.Module, batch: dict) -> torch.Tensor:
    """The try-on images of a collated batch."""
    return composite(G(condition(batch, G.size_channels)), batch)


def region_l1(results: torch.Tensor, items: list[PersonInputs]) -> tuple[float, float]:
    """(L1 of `results`, L1 of the copy-the-agnostic-image baseline) against the photos, inside the mask."""
    batch = collate_inputs(items)
    m, target = batch["agnostic_mask"], batch["target"]
    return float(masked_l1(results, target, m)), float(masked_l1(batch["agnostic"], target, m))


class UnetGanTrainer:
    """Owns G, D, their optimizers, the VGG19 features (when available), the data and the position."""

    def __init__(self, ctx: FamilyContext) -> None:
        tp, gp = ctx.params, ctx.params.unet_gan
        self.ctx, self.gp = ctx, gp
        if tp.num_threads:
            torch.set_num_threads(tp.num_threads)
        self.device = device_for(tp.device)
        torch.manual_seed(ctx.seed)
        self.size = (gp.width, gp.height)
        self.size_channels = SIZE_CHANNELS if tp.size_conditioning.enabled else 0
        self.G = build_generator(gp, bool(self.size_channels)).to(self.device)
        self.D = PatchDiscriminator(in_ch=3 + CONDITION_CHANNELS + self.size_channels,
                                    base=gp.disc_channels).to(self.device)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=gp.lr_g, betas=(gp.beta1, gp.beta2))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=gp.lr_d, betas=(gp.beta1, gp.beta2))
        if gp.perceptual.enabled and gp.perceptual.weight > 0:
            self.vgg, self.perceptual = load_perceptual(tuple(gp.perceptual.layers), gp.perceptual.weights,
                                                        device=self.device)
        else:
            self.vgg, self.perceptual = None, PerceptualStatus(
                False, "unavailable: off in params (train.unet_gan.perceptual)")
        if not self.perceptual.available:
            print(f"train: perceptual and style losses are off ({self.perceptual.detail})", file=sys.stderr)
        self.data = SampleInputs(ctx.samples, self.size, desc="unet_gan inputs")
        self.val = pick_per_category([SampleInputs(ctx.val_samples, self.size, desc="val inputs")[i]
                                      for i in range(len(ctx.val_samples))],
                                     tp.tracking.validation_per_category)
        self.position = LoopPosition()

    # -- one step ------------------------------------------------------------------------------------------------
    def step(self, indices: list[int], step: int) -> dict[str, float]:
        """One D update (after the warm-up) and one G update on the batch `indices`."""
        gp = self.gp
        batch = self.data.batch(indices, self.device)
        cond, target = condition(batch, self.size_channels), batch["target"]
        fake = composite(self.G(cond), batch)
        adversarial = step >= gp.gan_start_step and (gp.adversarial_weight > 0 or gp.feature_matching_weight > 0)
        out: dict[str, float] = {}
        if adversarial:
            self.opt_d.zero_grad(set_to_none=True)
            d_loss = lsgan_d_loss(self.D(target, cond)[-1], self.D(fake.detach(), cond)[-1])
            d_loss.backward()
            self.opt_d.step()
            out["d_loss"] = float(d_loss.detach())
        self.opt_g.zero_grad(set_to_none=True)
        l1 = torch.nn.functional.l1_loss(fake, target)
        total = gp.l1_weight * l1
        out["l1"] = float(l1.detach())
        out["region_l1"] = float(masked_l1(fake.detach(), target, batch["agnostic_mask"]))
        if self.vgg is not None:
            ff, fr = self.vgg(fake), self.vgg(target)
            perc = perceptual_loss(ff, fr, tuple(gp.perceptual.layer_weights))
            total = total + gp.perceptual.weight * perc
            out["perceptual"] = float(perc.detach())
            if gp.perceptual.style_weight > 0:
                style = style_loss(ff, fr)
                total = total + gp.perceptual.style_weight * style
                out["style"] = float(style.detach())
        if adversarial:
            fake_feats = self.D(fake, cond)
            with torch.no_grad():
                real_feats = self.D(target, cond)
            g_adv, fm = lsgan_g_loss(fake_feats[-1]), feature_matching_loss(fake_feats, real_feats)
            total = total + gp.adversarial_weight * g_adv + gp.feature_matching_weight * fm
            out["g_adv"], out["feature_matching"] = float(g_adv.detach()), float(fm.detach())
        total.backward()
        self.opt_g.step()
        out[HEADLINE] = float(total.detach())
        return out

    # -- state -----------------------------------------------------------------------------------------------------
    def state(self) -> dict:
        """What a checkpoint holds besides the position and RNG."""
        return {"G": self.G.state_dict(), "D": self.D.state_dict(), "opt_g": self.opt_g.state_dict(),
                "opt_d": self.opt_d.state_dict()}

    def load(self, path: Path) -> None:
        """Restore weights, optimizers, RNG and data position from a checkpoint folder."""
        state = load_checkpoint(path)
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.position = LoopPosition.from_state(state["position"])

    # -- running -----------------------------------------------------------------------------------------------
    def predict(self, items: list[PersonInputs]) -> torch.Tensor:
        """Try-on images of prepared inputs (Bx3xHxW on CPU), with G in eval mode."""
        was = self.G.training
        self.G.eval()
        batch = {k: v.to(self.device) if torch.is_tensor(v) else v for k, v in collate_inputs(items).items()}
        with torch.no_grad():
            out = generate(self.G, batch).cpu()
        self.G.train(was)
        return out

    def grid(self):
        """The validation grid of the held-out samples with the current weights."""
        return validation_grid(self.val, self.predict)

    def fit(self, log_metrics=None, validate=None) -> LoopResult:
        """Train to max_steps from the current position."""
        spec = LoopSpec.from_params(self.ctx.params, self.ctx.seed, HEADLINE, desc="train unet_gan")
        self.G.train()
        self.D.train()
        return run_loop(spec, len(self.data), self.position, self.step, self.state, self.ctx.checkpoint_dir,
                        log_metrics, validate)

    def parameter_counts(self) -> dict[str, int]:
        """Trainable parameters of G and D."""
        return {"generator_parameters": count_parameters(self.G), "discriminator_parameters": count_parameters(self.D)}

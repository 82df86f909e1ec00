"""The U-Net + self-attention GAN try-on baseline (networks, losses, trainer, predictor, params)."""

"""The GMM + TOM warping try-on family (VITON-HD / CP-VTON style): TPS-warp the garment, then render and compose."""

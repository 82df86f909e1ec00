"""Configuration: params.yaml (every knob, tracked by DVC) and the environment (endpoints, credentials)."""

from components.config.params import Params, load_params

__all__ = ["Params", "load_params"]

"""Configuration: params.yaml (every knob, tracked by DVC; see params.py) and the environment (endpoints, credentials)."""

"""The tracking contract: every MLflow tag and metric key the pipeline writes or reads, named once.

Keys have one separator (`.`) and one namespace (`vton.` for tags). A stage, the flow, the registry and the
reports all read a key through these names, so renaming one is a one-line change and a typo is an import error.
"""

from __future__ import annotations

SEP = "."


def key(*parts: str) -> str:
    """Join key parts with the contract's one separator."""
    return SEP.join(p.strip(SEP) for p in parts if p)


class Tag:
    """Tag keys on runs (R), registered models (M) and model versions (V)."""

    # Lineage (R): what produced a run.
    STAGE = "vton.stage"  # retrain | registry | <stage> for a standalone stage run
    PROFILE = "vton.profile"
    DATA_VERSION = "vton.data_version"
    CODE_VERSION = "vton.code_version"
    CODE_DIRTY_FILES = "vton.code_dirty_files"
    PARAMS_HASH = "vton.params_hash"
    # The retrain run (R).
    STAGES = "vton.stages"
    NOOP = "vton.noop"
    RETRAIN_PID = "vton.retrain.pid"
    RETRAIN_HOST = "vton.retrain.host"
    END_REASON = "vton.end_reason"
    PREFECT_FLOW_RUN_ID = "prefect.flow_run_id"
    STAGE_STATUS_PREFIX = "vton.stage_status"
    PROMOTION = "vton.promotion"
    # Stage outcomes (R).
    VALIDATE_GATE = "vton.validate.gate"
    DATA_DIFF = "vton.data_diff"
    TRAIN_DATASET_VERSION = "vton.train.dataset_version"
    TRAIN_RUN_KEY = "vton.train.run_key"
    TRAIN_PERCEPTUAL = "vton.train.perceptual"  # "vgg19:<sha256[:12]>" or "unavailable: <reason>"
    MODEL_FAMILY = "vton.model.family"  # also on the registered model version (V)
    MODEL_SIZE_CONDITIONING = "vton.model.size_conditioning"  # on | off, also on the registered model version (V)
    # How a size-aware model reads the size map: mask_path | input_channels | none, also on the version (V).
    MODEL_SIZE_MAP = "vton.model.size_map"
    EVAL_CALIBRATION = "vton.eval.calibration"
    EVAL_CHAMPION_CALIBRATION = "vton.eval.champion_calibration"  # the champion's figures in the run ("none": absent)
    EVAL_FID_KID_COMPARABILITY = "vton.eval.fid_kid_comparability"
    EVAL_FID_EXTRACTOR = "vton.eval.fid_extractor"
    EVAL_LPIPS_BACKBONE = "vton.eval.lpips_backbone"
    EVAL_CHAMPION_VERSION = "vton.eval.champion_version"
    EVAL_CANDIDATE_VERSION = "vton.eval.candidate_version"
    # Evaluation evidence (V).
    EVAL_RUN_ID = "vton.eval.run_id"
    EVAL_REVIEW_GRID = "vton.eval.review_grid"
    EVAL_WORST_CASES = "vton.eval.worst_cases"
    EVAL_REPORT = "vton.eval.report"
    EVAL_OVERALL = "vton.eval.overall"
    # Gates and review (V).
    GATES = "vton.gates"
    GATES_AT = "vton.gates_at"
    GATE_CHECKS = "vton.gate_checks"
    EVALUATED_AGAINST = "vton.evaluated_against"
    REVIEW = "review"
    REVIEW_BY = "vton.review_by"
    REVIEW_NOTE = "vton.review_note"
    REVIEW_AT = "vton.review_at"
    # Registry bookkeeping (R, M).
    REGISTRY_ACTION = "vton.registry.action"
    REGISTRY_VERSION = "vton.registry.version"
    LEDGER_PREFIX = "vton.ledger"


def stage_status_tag(stage: str) -> str:
    """The retrain run's tag holding one stage's status (ran | skipped | restored | failed)."""
    return key(Tag.STAGE_STATUS_PREFIX, stage)


def ledger_tag(seq: int) -> str:
    """The registered model's tag holding ledger entry `seq`."""
    return key(Tag.LEDGER_PREFIX, f"{seq:06d}")


class Metric:
    """Metric-key prefixes: `<prefix>.<name>` (evaluation: `eval.<scope>.<figure>`)."""

    VALIDATE = "validate"
    DATA_DIFF = "data_diff"
    EVAL = "eval"
    EVAL_CHAMPION = "eval.champion"
    TRAIN = "train"
    ANNOTATE = "annotate"
    ORCHESTRATION = "retrain"


def metric_key(prefix: str, *parts: str) -> str:
    """A metric key under `prefix` (one of Metric's), e.g. metric_key(Metric.VALIDATE, "rules.failed")."""
    return key(prefix, *parts)


class Param:
    """Param-key prefixes: `<prefix>.<name>` (training: `train.<field>`, `train.<family>.<field>`)."""

    TRAIN = "train"


def param_key(prefix: str, *parts: str) -> str:
    """A param key under `prefix` (one of Param's), e.g. param_key(Param.TRAIN, "gmm_tom", "perceptual_status")."""
    return key(prefix, *parts)


# Artifacts on the retrain run.
PARAMS_ARTIFACT = "params.yaml"
LOCK_ARTIFACT_DIR = "dvc"
LOCK_ARTIFACT = f"{LOCK_ARTIFACT_DIR}/dvc.lock"

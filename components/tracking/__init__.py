"""MLflow tracking shared by every stage: one run per retrain, found through VTON_MLFLOW_RUN_ID."""

from components.tracking.mlflow_run import (
    RUN_ID_ENV,
    configure_mlflow,
    lineage_tags,
    log_image_artifact,
    stage_run,
    tracking_uri,
)

__all__ = ["RUN_ID_ENV", "configure_mlflow", "lineage_tags", "log_image_artifact", "stage_run", "tracking_uri"]

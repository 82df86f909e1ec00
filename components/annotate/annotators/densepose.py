"""DensePose R50-FPN s1x: part-index (I) and U/V maps of the best-scoring person, from the official .pkl
(PyTorch) or from its ONNX export (onnxruntime)."""

from __future__ import annotations

import numpy as np

from components.annotate.annotators.base import BatchedAnnotator
from components.annotate.annotators.torch_device import chunks, resolve_device, resolve_dtype
from components.annotate.maps import BodyMaps
from components.annotate.params import DensePoseParams
from components.errors import Quarantine


class DensePoseR50(BatchedAnnotator):
    """DensePose chart outputs (I 0-24, U, V) for the person CatVTON/IDM-VTON would keep (score >= min_score)."""

    name = "densepose_r50_fpn_s1x"
    version = "detectron2-165712039"
    weights = ("densepose_r50_fpn_s1x",)
    provides = ("densepose_parts", "densepose_uv")
    params_field = "densepose_model"
    settings_fields = ("densepose_model",)  # score cut-off, resize, float16 (device, batch, threads are placement)

    @classmethod
    def cache_settings(cls, settings) -> dict:
        """Its settings under the key `densepose`, the name cache entries written before this declaration use."""
        return {"densepose": super().cache_settings(settings)["densepose_model"]}

    def __init__(self, settings=None) -> None:
        super().__init__(settings)
        self.params: DensePoseParams = settings.densepose_model if settings is not None else DensePoseParams()
        self.device = resolve_device(self.params.device)
        self.dtype = resolve_dtype(self.device, self.params.half)
        self.model = self._load()

    def _load(self):
        from components.annotate.networks.densepose import load_densepose
        from components.models.store import ensure_weights

        return load_densepose(ensure_weights("densepose_r50_fpn_s1x"), self.device).to(dtype=self.dtype)

    def annotate_batch(self, images: list[np.ndarray]) -> list[BodyMaps | Quarantine]:
        """DensePose maps per image, `densepose_model.batch_size` per forward pass; Quarantine where nobody
        scores min_score."""
        from components.annotate.networks.densepose import run_densepose

        p = self.params
        out = []
        for chunk in chunks(images, p.batch_size):
            for r in run_densepose(self.model, chunk, p.min_score, p.min_size, p.max_size, self.dtype):
                if r.box is None:
                    out.append(Quarantine(f"no person: DensePose found nobody with score >= {p.min_score}"))
                else:
                    out.append(BodyMaps(densepose_parts=r.parts, densepose_uv=r.uv))
        return out


class DensePoseR50Onnx(DensePoseR50):
    """The same DensePose through onnxruntime, from the graphs `vton models export-onnx densepose_r50_fpn_s1x` writes."""

    name = "densepose_r50_fpn_s1x_onnx"
    weights = ("densepose_r50_fpn_s1x_onnx.trunk", "densepose_r50_fpn_s1x_onnx.box_head",
               "densepose_r50_fpn_s1x_onnx.chart_head")

    def _load(self):
        from components.annotate.networks.densepose_onnx import catalog_names, load_densepose_onnx
        from components.models.store import ensure_weights

        paths = {part: ensure_weights(name) for part, name in catalog_names().items()}
        model = load_densepose_onnx(paths, self.params.device, self.params.onnx_threads)
        self.dtype = model.dtype  # the exported graphs are float32 whatever `half` says
        return model

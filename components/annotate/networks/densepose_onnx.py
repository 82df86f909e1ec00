"""DensePose R50-FPN s1x through onnxruntime: the network parts as ONNX graphs, the box logic shared with PyTorch.

An export is three graphs, cut where shapes stop being data-dependent:

    trunk       images (N,3,H,W) BGR 0-255, H and W multiples of 32 -> P2-P6, RPN logits and deltas per level,
                and the DensePose decoder map (the input normalisation is inside the graph)
    box_head    ROI features (R,256,7,7) -> person/background logits, box deltas
    chart_head  ROI features (R,256,28,28) -> coarse segmentation, fine segmentation (I), U, V

Anchors, top-k, NMS and ROIAlign stay in `densepose.detect_and_chart`, the code the PyTorch model runs, so both
runtimes decide boxes identically. Each graph records the sha256 of the .pkl it was exported from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from components.annotate.networks.densepose import DensePoseRCNN, DetectorConfig, TrunkOutputs, detect_and_chart
from components.errors import MissingWeightsError

PARTS = ("trunk", "box_head", "chart_head")
LEVELS = ("p2", "p3", "p4", "p5", "p6")
SOURCE_SHA_KEY = "vton.source_sha256"


def onnx_filename(part: str) -> str:
    """The file name of one exported graph (what the model catalog's densepose_r50_fpn_s1x_onnx.* entries name)."""
    return f"densepose_r50_fpn_s1x_{part}.onnx"


class _TrunkGraph(nn.Module):
    def __init__(self, model: DensePoseRCNN):
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        t = self.model.trunk(images)
        base = (self.model.dp_decoder(t.features[:4]),) if self.model.dp_decoder is not None else ()
        return (*t.features, *t.rpn_logits, *t.rpn_deltas, *base)


class _BoxGraph(nn.Module):
    def __init__(self, model: DensePoseRCNN):
        super().__init__()
        self.model = model

    def forward(self, pooled: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.box_outputs(pooled)


class _ChartGraph(nn.Module):
    def __init__(self, model: DensePoseRCNN):
        super().__init__()
        self.model = model

    def forward(self, pooled: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.model.chart_outputs(pooled)


def trunk_output_names(decoder: bool) -> list[str]:
    """The trunk graph's output names, in order."""
    names = list(LEVELS) + [f"rpn_logits_{lv}" for lv in LEVELS] + [f"rpn_deltas_{lv}" for lv in LEVELS]
    return names + (["chart_base"] if decoder else [])


def export_densepose_onnx(model: DensePoseRCNN, out_dir: str | Path, source_sha256: str) -> dict[str, Path]:
    """Write the three graphs of `model` (float32, CPU) into `out_dir`; {part: path}. Takes about half a minute."""
    import onnx

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = model.float().cpu().eval()
    decoder = model.dp_decoder is not None
    rois = torch.export.Dim("rois", min=1, max=4096)
    kh, kw = torch.export.Dim("h32", min=1, max=128), torch.export.Dim("w32", min=1, max=128)
    batch = torch.export.Dim("batch", min=1, max=256)
    graphs = {
        "trunk": (_TrunkGraph(model), torch.zeros(2, 3, 160, 128), ["images"], trunk_output_names(decoder),
                  {"images": {0: batch, 2: 32 * kh, 3: 32 * kw}}),
        "box_head": (_BoxGraph(model), torch.zeros(2, 256, 7, 7), ["pooled"], ["logits", "deltas"],
                     {"pooled": {0: rois}}),
        "chart_head": (_ChartGraph(model), torch.zeros(2, 256, 28, 28), ["pooled"], ["coarse", "fine", "u", "v"],
                       {"pooled": {0: rois}}),
    }
    paths = {}
    for part, (graph, example, inputs, outputs, dynamic) in graphs.items():
        path = out_dir / onnx_filename(part)
        partial = path.with_name(path.name + ".partial")
        with torch.no_grad():
            torch.onnx.export(graph.eval(), (example,), str(partial), dynamo=True, input_names=inputs,
                              output_names=outputs, dynamic_shapes={inputs[0]: dynamic[inputs[0]]},
                              external_data=False, verbose=False)
        proto = onnx.load(str(partial))
        onnx.helper.set_model_props(proto, {SOURCE_SHA_KEY: source_sha256, "vton.part": part,
                                            "vton.exporter": f"torch {torch.__version__}"})
        onnx.save(proto, str(partial))
        partial.replace(path)
        paths[part] = path
    return paths


def onnx_providers(device: str) -> list[str]:
    """onnxruntime execution providers for an annotator device setting ('auto' uses CUDA when the wheel has it)."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if device in ("auto", "cuda") and "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if device == "cuda":
        from components.errors import ConfigError

        raise ConfigError("annotate: densepose_model.device 'cuda' with runtime onnxruntime needs onnxruntime-gpu "
                          f"(this onnxruntime offers {', '.join(available)})",
                          hint="pip install the onnxruntime-gpu wheel matching requirements.lock, or set device: auto")
    return ["CPUExecutionProvider"]


@dataclass
class OnnxDensePose:
    """The exported graphs in onnxruntime sessions, answering the calls `densepose.detect_and_chart` makes."""

    sessions: dict[str, object]
    config: DetectorConfig = DetectorConfig()

    device = torch.device("cpu")  # outputs come back as CPU tensors whatever provider ran the graph
    dtype = torch.float32

    @property
    def decoder(self) -> bool:
        """Whether the export carries the DensePose decoder (checkpoints trained with DECODER_ON)."""
        return any(o.name == "chart_base" for o in self.sessions["trunk"].get_outputs())

    @property
    def source_sha256(self) -> str:
        """sha256 of the detectron2 .pkl the graphs were exported from."""
        return self.sessions["trunk"].get_modelmeta().custom_metadata_map.get(SOURCE_SHA_KEY, "")

    def _run(self, part: str, array: torch.Tensor) -> list[torch.Tensor]:
        session = self.sessions[part]
        feed = {session.get_inputs()[0].name: np.ascontiguousarray(array.detach().float().cpu().numpy())}
        return [torch.from_numpy(o) for o in session.run(None, feed)]

    def trunk(self, images: torch.Tensor) -> TrunkOutputs:
        """Backbone, FPN, RPN head (and decoder) in one onnxruntime call."""
        outs = self._run("trunk", images)
        n = len(LEVELS)
        # trunk_output_names: three outputs per level, then the decoder map when the export has one.
        return TrunkOutputs(outs[:n], outs[n : 2 * n], outs[2 * n : 3 * n], outs[3 * n] if len(outs) > 3 * n else None)

    def box_outputs(self, pooled: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Class logits and box deltas for 7x7 ROI features."""
        if not len(pooled):
            return pooled.new_zeros((0, 2)), pooled.new_zeros((0, 4))
        logits, deltas = self._run("box_head", pooled)
        return logits, deltas

    def chart_features(self, trunk: TrunkOutputs) -> torch.Tensor | None:
        """The decoder map the trunk graph already computed (None without a decoder)."""
        return trunk.chart_base

    def chart_outputs(self, pooled: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Coarse, fine, U, V charts for 28x28 ROI features."""
        return tuple(self._run("chart_head", pooled))

    def __call__(self, images: torch.Tensor, image_hw: list[tuple[int, int]], min_score: float = 0.8):
        """See `densepose.detect_and_chart`."""
        return detect_and_chart(self, images, image_hw, min_score)


def load_densepose_onnx(paths: dict[str, Path], device: str = "auto", threads: int = 0) -> OnnxDensePose:
    """onnxruntime sessions for the three exported graphs; one clear error when a file is missing or they disagree."""
    import onnxruntime as ort

    missing = [f"{onnx_filename(p)} (expected at {paths.get(p)})" for p in PARTS if not paths.get(p) or not Path(paths[p]).is_file()]
    if missing:
        raise MissingWeightsError("DensePose ONNX export incomplete: missing " + ", ".join(missing),
                                  hint="run `vton models export-onnx densepose_r50_fpn_s1x` (needs the .pkl in the store)")
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    providers = onnx_providers(device)
    sessions = {p: ort.InferenceSession(str(paths[p]), options, providers=providers) for p in PARTS}
    sources = {p: s.get_modelmeta().custom_metadata_map.get(SOURCE_SHA_KEY) for p, s in sessions.items()}
    if len(set(sources.values())) != 1:
        from components.annotate.networks.checkpoint import CheckpointMismatch

        raise CheckpointMismatch(f"DensePose ONNX graphs come from different checkpoints: {sources}",
                                 hint="export all three again with `vton models export-onnx densepose_r50_fpn_s1x`")
    return OnnxDensePose(sessions)


def catalog_names() -> dict[str, str]:
    """{part: model-catalog name} of the exported graphs."""
    return {part: f"densepose_r50_fpn_s1x_onnx.{part}" for part in PARTS}


def export_to_store() -> dict[str, Path]:
    """Export the store's verified model_final_162be9.pkl to the three catalogued ONNX files; {name: path}."""
    import tempfile

    from components.annotate.networks.densepose import load_densepose
    from components.models.store import Catalog, ensure_weights, local_path, record_local_file, weights_sha256

    catalog = Catalog.load()
    pkl = ensure_weights("densepose_r50_fpn_s1x", catalog)
    source_sha = weights_sha256("densepose_r50_fpn_s1x", catalog)
    names = catalog_names()
    target_dir = local_path(catalog.get(names["trunk"])).parent
    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target_dir) as tmp:
        written = export_densepose_onnx(load_densepose(pkl), tmp, source_sha)
        out = {}
        for part, path in written.items():
            entry = catalog.get(names[part])
            record_local_file(entry, path)
            out[entry.name] = local_path(entry)
    return out

"""The Annotate II backends through the registry: official-format weights in the store, maps on a real photo;
without the weights the selection fails before any work, naming every missing file."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from components.annotate.annotators import annotator_class
from components.annotate.maps import BodyMaps
from components.annotate.params import AnnotateParams, DensePoseParams, SchpParams
from components.annotate.preflight import check_weights
from components.errors import MissingWeightsError, Quarantine

torch.set_num_threads(1)
RESEARCH = dict(pose="openpose", parsing="schp_lip+schp_atr", densepose="densepose_r50")


def test_research_profile_without_weights_fails_naming_every_file(tmp_path, monkeypatch):
    monkeypatch.setenv("VTON_MODEL_CACHE", str(tmp_path / "empty"))
    with pytest.raises(MissingWeightsError) as err:
        check_weights(AnnotateParams(**RESEARCH))
    text = str(err.value)
    for filename in ("exp-schp-201908261155-lip.pth", "exp-schp-201908301523-atr.pth", "model_final_162be9.pkl",
                     "body_pose_model.pth"):
        assert filename in text
    check_weights(AnnotateParams())  # the offline backends need nothing from the store


def test_schp_backend_gives_lip_and_atr_maps(model_cache, photo):
    settings = AnnotateParams(**RESEARCH, schp=SchpParams(input_size=64, device="cpu"))
    ann = annotator_class("parsing", "schp_lip+schp_atr")(settings)
    maps = ann(photo)
    assert maps.parse_lip.shape == photo.shape[:2] and maps.parse_lip.max() < 20
    assert maps.parse_atr.shape == photo.shape[:2] and maps.parse_atr.max() < 18
    assert maps.sources["parse_lip"] == "schp_lip_atr"
    assert len(ann.annotate_batch([photo, photo[:, ::-1].copy()])) == 2


def test_densepose_backend_gives_parts_and_uv(model_cache, photo):
    settings = AnnotateParams(**RESEARCH, densepose_model=DensePoseParams(min_score=0.0, min_size=128, max_size=160))
    ann = annotator_class("densepose", "densepose_r50")(settings)
    maps = ann(photo)
    assert maps.densepose_parts.shape == photo.shape[:2] and maps.densepose_parts.max() <= 24
    assert maps.densepose_uv.shape == (2, *photo.shape[:2])
    strict = AnnotateParams(**RESEARCH, densepose_model=DensePoseParams(min_score=1.0, min_size=128, max_size=160))
    with pytest.raises(Quarantine, match="no person"):
        annotator_class("densepose", "densepose_r50")(strict)(photo)


def test_openpose_backend_returns_body25_or_quarantines(model_cache, photo):
    ann = annotator_class("pose", "openpose")(AnnotateParams(**RESEARCH))
    try:
        maps = ann(photo)
    except Quarantine as q:  # random weights may find nobody or several people: both are reasons, not crashes
        assert q.reason.startswith(("no person", "several people"))
    else:
        assert maps.keypoints_body25.shape == (25, 3) and maps.n_people == 1
    assert ann.calls == 1


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gpu_half_precision_batches_match_labels_shape(model_cache, photo):
    settings = AnnotateParams(**RESEARCH, schp=SchpParams(device="cuda", half=True, batch_size=4))
    ann = annotator_class("parsing", "schp_lip+schp_atr")(settings)
    assert ann.dtype == torch.float16
    out = ann.annotate_batch([photo] * 6)
    assert len(out) == 6 and all(isinstance(m, BodyMaps) and m.parse_lip.shape == photo.shape[:2] for m in out)
    assert np.array_equal(out[0].parse_lip, out[5].parse_lip)


def test_batched_network_sees_only_the_photos_earlier_roles_kept_in_one_call(model_cache, real_photos, monkeypatch):
    from components.annotate.annotators.densepose import DensePoseR50
    from components.annotate.person import annotate_people

    settings = AnnotateParams(densepose="densepose_r50",
                              densepose_model=DensePoseParams(min_score=0.0, min_size=128, max_size=160))
    annotators = [annotator_class(role, backend)(settings) for role, backend in
                  (("person", "selfie_segmentation"), ("pose", "mediapipe"), ("densepose", "densepose_r50"))]
    seen: list[int] = []
    real_batch = DensePoseR50.annotate_batch
    monkeypatch.setattr(DensePoseR50, "annotate_batch", lambda self, images: seen.append(len(images)) or real_batch(self, images))
    photos = [real_photos[name] for name in ("astronaut", "chelsea", "grace_hopper")]
    results = annotate_people(photos, annotators, 96, 128)
    assert isinstance(results[1], Quarantine) and results[1].reason.startswith("no person")  # the cat, by MediaPipe
    assert seen == [2]  # the two people in one call; the cat never reached DensePose
    for frame, maps, _ in (results[0], results[2]):
        assert frame.shape == (128, 96, 3)
        assert maps.densepose_parts.shape == (128, 96) and maps.keypoints_body25.shape == (25, 3)
        assert maps.sources["densepose_parts"] == "densepose_r50_fpn_s1x"
    assert annotators[2].calls == 2

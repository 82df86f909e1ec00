"""score_model's per-pair records: what size accuracy judges."""

from __future__ import annotations

import dataclasses

from components.evaluate.size_accuracy import requested_label, size_accuracy
from tests.evaluate.constructed_fit import COLOURS, build_sized_dataset, person_photo, thresholds

THRESHOLDS = thresholds()


def test_a_pair_whose_person_has_no_keypoints_is_not_judged_for_size_instead_of_counted_a_miss(tmp_path):
    from components.evaluate.pairs import build_pairs
    from components.evaluate.scoring import score_model

    # Unpaired pairs only: no ground-truth figure, so no metric network is needed to score them.
    pairs = [p for p in build_pairs(build_sized_dataset(tmp_path / "test", split="test"), 4) if p.kind == "unpaired"]
    blind = {pairs[0].pair_id}  # its person's keypoints file is gone: nothing about their body can be measured
    pairs = [dataclasses.replace(p, keypoints=None) if p.pair_id in blind else p for p in pairs]

    def oracle(pair, person, garment, mask):  # the garment drawn in exactly the fit the pair asks for
        colour = COLOURS[pair.garment.name.split("_")[0]]
        return person_photo(colour, requested_label(pair.category, pair.requested_ratios, THRESHOLDS))[0]

    scored = score_model(pairs, oracle, None, (96, 128), tmp_path / "out", fit_thresholds=THRESHOLDS)
    by_id = {s.pair_id: s for s in scored.scores}
    assert len(pairs) >= 2 and all(by_id[p].requested_fit is None for p in blind)
    accuracy, n = size_accuracy([s.requested_fit for s in scored.scores], [s.generated_fit for s in scored.scores])
    assert (accuracy, n) == (1.0, len(pairs) - len(blind))

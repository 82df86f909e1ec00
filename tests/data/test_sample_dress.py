"""The drawn dress of the sample's composites: where it goes on a body and that it is shaded."""

import numpy as np

from components.data.sample_dress import BodyPoints, DrawnDress, dress_region, render_dress

# A person 400 px tall drawn as boxes: head, torso, arms hanging beside it, hands below the wrists, legs.
POINTS = BodyPoints(r_shoulder=(70, 100), l_shoulder=(130, 100), r_elbow=(62, 160), l_elbow=(138, 160),
                    r_wrist=(60, 215), l_wrist=(140, 215), r_hip=(85, 220), l_hip=(115, 220),
                    r_knee=(85, 300), l_knee=(115, 300))
DRESS = DrawnDress("d", "photo", (160, 30, 40), "grass", 1.4, 0.15, 7, "red dress")


def _person() -> np.ndarray:
    person = np.zeros((420, 200), bool)
    person[40:95, 85:115] = True  # head and neck
    person[90:225, 72:128] = True  # torso
    person[95:215, 50:72] = person[95:215, 128:150] = True  # arms
    person[215:250, 52:70] = person[215:250, 130:148] = True  # hands
    person[220:400, 76:98] = person[220:400, 102:124] = True  # legs
    return person


def test_the_dress_covers_torso_and_sleeves_flares_past_the_legs_and_leaves_head_hands_and_shins():
    person = _person()
    region = dress_region(person, POINTS, DRESS)
    assert region[150, 100] and region[150, 60]  # torso and a sleeve
    assert not region[60, 100]  # the head, above the neckline
    assert not region[240, 61] and not region[240, 139]  # the hands stay in front
    assert region[290, 70] and not person[290, 70]  # the skirt is drawn over the backdrop beside the legs
    assert not region[380, 87]  # the shins below the hem are the photo's
    assert not (region & ~person)[:200].any()  # above the hips the dress is the person's own silhouette


def test_a_rendered_dress_is_shaded_and_the_photo_outside_it_is_untouched():
    person = _person()
    photo = np.full((420, 200, 3), 200, np.uint8)
    photo[person] = (90, 90, 140)
    out, region = render_dress(photo, person, POINTS, DRESS, np.random.default_rng(0).random((420, 200)) * 255)
    red = out[region][:, 0].astype(float)
    assert red.std() > 5 and 0.5 * 160 < red.mean() < 1.1 * 160  # shaded around the dress's colour, not flat
    from scipy import ndimage

    away = ~ndimage.binary_dilation(region, iterations=4)  # beyond the soft edge and the hem's shadow
    away[300:345] = False  # the shadow under the hem falls on the legs
    assert np.array_equal(out[away], photo[away])

"""Editing a label image (annotation/editing.py): each tool changes exactly the expected pixels."""

from __future__ import annotations

import numpy as np

from petrilab.annotation.editing import (History, delete_object, fill_polygon, flood_fill, next_free_label,
                                         paint_segment)


def swept(shape, p, q, radius):
    """The expected pixels, by brute force: centres within `radius` of one of 2,001 points along p–q
    (dense enough that the distance is exact to 1e-3 pixel here)."""
    rows, cols = np.mgrid[:shape[0], :shape[1]]
    cy, cx = rows + 0.5, cols + 0.5
    hit = np.zeros(shape, bool)
    for t in np.linspace(0, 1, 2001):
        x, y = p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])
        hit |= (cx - x) ** 2 + (cy - y) ** 2 <= radius ** 2 + 1e-3
    return hit


def test_a_brush_segment_covers_exactly_the_swept_discs():
    mask = np.zeros((60, 80), np.uint16)
    rect = paint_segment(mask, (10.5, 12.5), (60.5, 40.5), 4, 7)
    expected = swept(mask.shape, (10.5, 12.5), (60.5, 40.5), 4)
    np.testing.assert_array_equal(mask == 7, expected)
    t, l, b, r = rect
    assert not mask[:t].any() and not mask[b:].any() and not mask[:, :l].any() and not mask[:, r:].any()


def test_a_click_paints_a_disc_and_the_border_clips():
    mask = np.zeros((20, 20), np.uint8)
    paint_segment(mask, (0.5, 0.5), (0.5, 0.5), 2, 1)  # at the corner: the part inside the image
    assert mask.sum() == ((np.mgrid[:3, :3][0] ** 2 + np.mgrid[:3, :3][1] ** 2) <= 4).sum()
    assert paint_segment(mask, (-50, -50), (-40, -40), 3, 1) is None


def test_the_eraser_removes_what_the_brush_painted_and_only_one_object_when_asked():
    mask = np.zeros((40, 40), np.uint16)
    mask[:, 20:] = 5
    paint_segment(mask, (5.5, 20.5), (35.5, 20.5), 3, 2)
    erased = mask.copy()
    paint_segment(erased, (5.5, 20.5), (35.5, 20.5), 3, 0)
    assert not (erased == 2).any()
    assert (erased[:, 20:] == 5).sum() < (mask[:, 20:] == 5).sum() + (mask[:, 20:] == 2).sum()
    only = mask.copy()
    paint_segment(only, (5.5, 20.5), (35.5, 20.5), 3, 0, only=2)  # object 5 untouched
    np.testing.assert_array_equal(only == 5, mask == 5)
    assert not (only == 2).any()


def test_fill_fills_exactly_the_inside_of_a_closed_outline():
    mask = np.zeros((30, 30), np.uint8)
    mask[5, 5:20] = mask[19, 5:20] = mask[5:20, 5] = mask[5:20, 19] = 1  # a square outline
    flood_fill(mask, 10.2, 12.7, 2)
    inside = np.zeros((30, 30), bool)
    inside[6:19, 6:19] = True
    np.testing.assert_array_equal(mask == 2, inside)
    assert (mask == 1).sum() == 4 * 14 and flood_fill(mask, 10, 10, 2) is None


def test_delete_removes_one_object_and_new_object_is_the_next_free_label():
    mask = np.zeros((20, 20), np.uint16)
    mask[2:5, 2:5], mask[10:15, 10:15], mask[0, 19] = 3, 9, 3
    assert delete_object(mask, 3.5, 3.5) == (0, 2, 5, 20)
    assert set(np.unique(mask)) == {0, 9} and delete_object(mask, 0.5, 0.5) is None
    assert next_free_label(mask) == 10


def test_undo_and_redo_restore_the_exact_arrays_stroke_by_stroke():
    rng = np.random.default_rng(1)
    mask = rng.integers(0, 4, (50, 50)).astype(np.uint16)
    history = History(mask)
    states = [mask.copy()]
    for k in range(3):  # three strokes of a few overlapping segments each
        history.begin()
        points = rng.uniform(0, 50, (4, 2))
        for p, q in zip(points[:-1], points[1:]):
            history.paint(p, q, 3, 10 + k)
        assert history.end() is not None
        states.append(mask.copy())
    for state in reversed(states[:-1]):
        history.undo()
        np.testing.assert_array_equal(mask, state)
    assert history.undo() is None
    for state in states[1:]:
        history.redo()
        np.testing.assert_array_equal(mask, state)
    history.undo()
    before_fill = mask.copy()
    assert history.single(lambda m: flood_fill(m, 1.5, 1.5, 30)) is not None
    assert history.redo() is None  # a new change after undo forgets what was undone
    history.undo()
    np.testing.assert_array_equal(mask, before_fill)


def test_the_lasso_fills_the_pixels_whose_centre_is_inside():
    mask = np.zeros((40, 40), np.uint8)
    assert fill_polygon(mask, [(10, 10), (30, 10), (30, 20), (10, 20)], 3) == (10, 10, 20, 30)
    expected = np.zeros((40, 40), bool)
    expected[10:20, 10:30] = True  # centres 10.5 … 29.5 across, 10.5 … 19.5 down
    np.testing.assert_array_equal(mask == 3, expected)
    triangle = np.zeros((40, 40), np.uint8)
    fill_polygon(triangle, [(0, 0), (40.2, 0), (0, 40.2)], 1)  # its slanted edge passes through no centre
    rows, cols = np.mgrid[:40, :40]
    np.testing.assert_array_equal(triangle == 1, (rows + 0.5) + (cols + 0.5) < 40.2)
    assert fill_polygon(mask, [(1, 1), (2, 2)], 1) is None  # not a polygon

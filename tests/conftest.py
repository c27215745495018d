"""Fixtures shared by the tests. Keep it small: one fixture, one job."""

from __future__ import annotations

import pytest

from petrilab.demo import make_classification_demo


@pytest.fixture
def tiny_classification_dir(tmp_path):
    """A small 3-class dataset (8 grey 32×32 PNG per class: elongated, fragmented, round) in tmp_path."""
    return make_classification_demo(tmp_path / "tiny-data", n_per_class=8, size=32, seed=1)

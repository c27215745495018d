"""Classification metrics on hand-made answers with known results."""

import pytest

from petrilab.tasks.classification.metrics import classification_metrics


def test_metrics_match_hand_computed_values():
    classes = ["a", "b", "c"]
    y_true = [0, 0, 0, 0, 1, 1, 2, 2]
    y_pred = [0, 0, 0, 1, 1, 2, 2, 2]
    result = classification_metrics(y_true, y_pred, classes)
    assert result["confusion_matrix"] == [[3, 1, 0], [0, 1, 1], [0, 0, 2]]
    m = result["metrics"]
    assert m["accuracy"] == pytest.approx(6 / 8)
    assert m["balanced_accuracy"] == pytest.approx((3 / 4 + 1 / 2 + 1) / 3)
    b = m["per_class"]["b"]
    assert (b["precision"], b["recall"], b["support"]) == (pytest.approx(0.5), pytest.approx(0.5), 2)
    c = m["per_class"]["c"]
    assert c["precision"] == pytest.approx(2 / 3) and c["f1"] == pytest.approx(0.8)


def test_imbalance_warns_that_accuracy_misleads():
    # the workshop's case: always answering the majority class looks good on accuracy
    y_true = [0] * 90 + [1] * 10
    y_pred = [0] * 100
    result = classification_metrics(y_true, y_pred, ["healthy", "infected"])
    assert result["metrics"]["accuracy"] == pytest.approx(0.9)
    assert result["metrics"]["balanced_accuracy"] == pytest.approx(0.5)
    assert result["metrics"]["per_class"]["infected"]["recall"] == 0
    assert any("always answers 'healthy'" in w for w in result["warnings"])


def test_balanced_set_has_no_imbalance_warning():
    result = classification_metrics([0] * 20 + [1] * 20, [0] * 20 + [1] * 20, ["x", "y"])
    assert result["warnings"] == []
    assert result["metrics"]["macro_f1"] == 1.0

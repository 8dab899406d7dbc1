import numpy as np
import pytest

from textclf.calibration import ece, ece_from_proba, fit_temperature, nll, reliability, softmax


def test_softmax_rows_sum_to_one_and_keep_order():
    s = np.array([[1.0, 2.0, 3.0], [1000.0, 0.0, -1000.0]])
    for t in (0.1, 1.0, 7.0):
        p = softmax(s, t)
        np.testing.assert_allclose(p.sum(axis=1), 1.0)
        assert (p.argmax(axis=1) == s.argmax(axis=1)).all()
        assert np.isfinite(p).all()


def test_ece_known_example():
    # bin (0.8, 0.9]: two at 0.9, one right → |0.5 - 0.9| = 0.4, weight 1/2
    # bin (0.5, 0.6]: two at 0.6, both right → |1.0 - 0.6| = 0.4, weight 1/2
    conf = np.array([0.9, 0.9, 0.6, 0.6])
    correct = np.array([1, 0, 1, 1])
    assert ece(conf, correct, n_bins=10) == pytest.approx(0.4)
    table = reliability(conf, correct, n_bins=10)
    assert [b["n"] for b in table] == [0, 0, 0, 0, 0, 2, 0, 0, 2, 0]
    assert ece(np.array([1.0, 1.0]), np.array([1, 1])) == 0.0
    assert ece(np.array([1.0, 1.0]), np.array([0, 0])) == pytest.approx(1.0)


def test_ece_from_proba_matches():
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]])
    y = np.array([0, 0, 2])
    assert ece_from_proba(proba, y, n_bins=10) == pytest.approx(
        ece(np.array([0.7, 0.8, 0.4]), np.array([1, 0, 1]), 10)
    )


def test_ece_rejects_bad_input():
    with pytest.raises(ValueError):
        ece(np.array([1.5]), np.array([1]))


def test_temperature_recovers_the_truth_and_lowers_ece():
    rng = np.random.default_rng(0)
    n, k, t_true = 20000, 5, 2.5
    scores = rng.normal(0.0, 3.0, size=(n, k))
    p_true = softmax(scores, t_true)
    y = np.array([rng.choice(k, p=row) for row in p_true])
    t = fit_temperature(scores, y)
    assert t == pytest.approx(t_true, rel=0.08)
    assert nll(scores, y, t) < nll(scores, y, 1.0)
    assert ece_from_proba(softmax(scores, t), y) < 0.02 < ece_from_proba(softmax(scores, 1.0), y)

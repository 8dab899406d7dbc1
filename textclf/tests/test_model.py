import hashlib
import io
import json
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from textclf import Classifier, Component, DataError, ModelError, Prediction, TrainConfig, train
from textclf.model import FORMAT_VERSION, NB_TOL, nb_ratios
from textclf.tests.corpus import UNSEEN


def _arrays(model_dir: Path) -> dict:
    with np.load(model_dir / "arrays.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _stable_meta(meta: dict) -> dict:
    meta = json.loads(json.dumps(meta))
    meta.pop("created")
    meta["training"].pop("seconds")
    return meta


def test_training_is_deterministic(corpus, tmp_path):
    a, b = train(corpus, seed=3), train(corpus, seed=3)
    a.save(tmp_path / "a")
    b.save(tmp_path / "b")
    assert (tmp_path / "a" / "arrays.npz").read_bytes() == (tmp_path / "b" / "arrays.npz").read_bytes()
    assert _stable_meta(a.metadata) == _stable_meta(b.metadata)
    assert a.version == b.version


def test_different_data_gives_a_different_model(corpus, trained):
    other = train(corpus[:-5], seed=0)
    assert other.metadata["training"]["sha256"] != trained.metadata["training"]["sha256"]
    assert other.version != trained.version


def test_learns_the_fixture(trained, corpus):
    assert trained.labels == sorted({r["label"] for r in corpus})
    for title, detail, label in UNSEEN:
        assert trained.predict(title, detail).label == label
    cal = trained.metadata["calibration"]
    assert cal["method"] == "temperature" and cal["folds"] == 5 and cal["temperature"] > 0


def test_prediction_shape(trained):
    p = trained.predict("公交车太少", "等车太久")
    assert isinstance(p, Prediction)
    assert len(p.top) == 3
    scores = [s for _, s in p.top]
    assert scores == sorted(scores, reverse=True)
    assert p.label == p.top[0][0] and p.score == scores[0]
    assert len({lab for lab, _ in p.top}) == 3
    proba = trained.proba("公交车太少", "等车太久")
    assert proba.sum() == pytest.approx(1.0)
    assert p.score == pytest.approx(proba.max())
    assert json.loads(json.dumps(p.to_dict()))["label"] == p.label


def test_empty_and_unknown_text_still_answers(trained):
    for title, detail in [("", ""), ("zzzz", None), ("🙂", "🙂")]:
        p = trained.predict(title, detail)
        assert p.label in trained.labels and 0 < p.score <= 1


def test_predict_many_equals_predict(trained, corpus):
    pairs = [(r["title"], r["detail"]) for r in corpus[:30]] + [(t, d) for t, d, _ in UNSEEN]
    many = trained.predict_many(pairs)
    for (t, d), m in zip(pairs, many, strict=True):
        one = trained.predict(t, d)
        assert one.label == m.label
        assert one.score == pytest.approx(m.score, abs=1e-9)


def test_round_trip(trained, model_dir, corpus):
    loaded = Classifier.load(model_dir)
    assert loaded.labels == trained.labels
    assert loaded.version == trained.version
    assert loaded.metadata["format_version"] == FORMAT_VERSION
    assert loaded.metadata["training"]["sha256"] == trained.metadata["training"]["sha256"]
    for r in corpus[::7]:
        a, b = trained.predict(r["title"], r["detail"]), loaded.predict(r["title"], r["detail"])
        assert a.top == b.top


def test_ensemble_config_round_trips(corpus, tmp_path):
    cfg = TrainConfig(components=(Component("svc", 1.0), Component("ridge", 1.0), Component("cnb", 0.3, 0.7)))
    clf = train(corpus, seed=0, config=cfg)
    clf.save(tmp_path)
    loaded = Classifier.load(tmp_path)
    assert loaded.predict("工厂偷排废气", "").top == clf.predict("工厂偷排废气", "").top
    assert loaded.metadata["config"]["components"][2]["kind"] == "cnb"


def test_nb_ratios_worked_example():
    import scipy.sparse as sp

    X = sp.csr_matrix(np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 1.0], [3.0, 0.0, 0.0]]))
    # label's message: features 0, 2 → p = 1 + [1, 0, 1], |p| = 5; others: 0, 1, 2 once → q = 1 + 1, |q| = 6
    r = nb_ratios(X, np.array([True, False, False]))
    assert r == pytest.approx(np.log([(2 / 5) / (2 / 6), (1 / 5) / (2 / 6), (2 / 5) / (2 / 6)]))


def test_nbsvm_weights_are_the_scaled_svm_folded_into_one_matrix(corpus):
    """Each label's stored column r ⊙ v scores x exactly as the binary SVM scores x ⊙ r."""
    from sklearn.svm import LinearSVC

    from textclf.features import FeatureSpace
    from textclf.model import DEFAULT_BLOCKS, _fit_nbsvm

    labels = sorted({r["label"] for r in corpus})
    y = np.array([labels.index(r["label"]) for r in corpus])
    _, X = FeatureSpace.fit_from_counts(
        DEFAULT_BLOCKS, FeatureSpace.count(DEFAULT_BLOCKS, [(r["title"], r["detail"]) for r in corpus])
    )
    w, c, cols = _fit_nbsvm(X, y, 1.0, 0)
    assert cols.tolist() == list(range(len(labels)))
    for k in (0, len(labels) - 1):
        r = nb_ratios(X, y == k)
        svm = LinearSVC(C=1.0, class_weight="balanced", random_state=0, max_iter=5000, tol=NB_TOL)
        svm.fit(X @ sp_diags(r), (y == k).astype(int))
        assert np.asarray(X @ w[:, k]).ravel() + c[k] == pytest.approx(
            svm.decision_function(X @ sp_diags(r)), abs=1e-6
        )
    # one-against-the-rest margins already separate the fixture's labels
    assert (np.asarray(X @ w + c).argmax(axis=1) == y).mean() > 0.95


def test_default_learner_is_nbsvm_and_two_labels_work(trained, corpus):
    assert [c["kind"] for c in trained.metadata["config"]["components"]] == ["nbsvm"]
    two = sorted({r["label"] for r in corpus})[:2]
    clf = train([r for r in corpus if r["label"] in two], seed=0)
    assert clf.labels == two and clf.coef.shape[1] == 2
    for r in [r for r in corpus if r["label"] in two][::5]:
        assert clf.proba(r["title"], r["detail"]).sum() == pytest.approx(1.0)
    assert np.mean([clf.predict(r["title"], r["detail"]).label == r["label"] for r in corpus if r["label"] in two]) > 0.9


def test_linear_svc_models_still_load(corpus, tmp_path):
    """Models of textclf 0.1 (one LinearSVC) have the same file format and still load."""
    clf = train(corpus, seed=0, config=TrainConfig(components=(Component("svc", 1.0),)))
    clf.save(tmp_path)
    loaded = Classifier.load(tmp_path)
    assert loaded.metadata["config"]["components"] == [{"kind": "svc", "c": 1.0, "weight": 1.0}]
    for r in corpus[::9]:
        assert loaded.predict(r["title"], r["detail"]).top == clf.predict(r["title"], r["detail"]).top


def sp_diags(r: np.ndarray):
    import scipy.sparse as sp

    return sp.diags(r)


def test_training_rejects_bad_records():
    with pytest.raises(DataError, match="record 1"):
        train([{"title": "a", "label": "x"}, {"title": 3, "label": "y"}])
    with pytest.raises(DataError, match="two different labels"):
        train([{"title": "a", "label": "x"}, {"title": "b", "label": "x"}])
    with pytest.raises(DataError, match="label"):
        train([{"title": "a"}, {"title": "b", "label": "x"}])


# ----- refusing bad model directories ----------------------------------------------------------------
@pytest.fixture
def copy(model_dir, tmp_path) -> Path:
    d = tmp_path / "m"
    shutil.copytree(model_dir, d)
    return d


def _edit_meta(d: Path, fn) -> None:
    meta = json.loads((d / "model.json").read_text(encoding="utf-8"))
    fn(meta)
    (d / "model.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


def _write_npz(d: Path, arrays: dict, *, pickle_ok: bool = False) -> None:
    buf = io.BytesIO()
    if pickle_ok:
        np.savez(buf, **arrays)  # object arrays get pickled
    else:
        np.savez(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    (d / "arrays.npz").write_bytes(buf.getvalue())
    sha = hashlib.sha256(buf.getvalue()).hexdigest()
    _edit_meta(d, lambda m: m["arrays"].__setitem__("sha256", sha))


def test_refuses_missing(tmp_path):
    with pytest.raises(ModelError, match="not a model directory"):
        Classifier.load(tmp_path / "nope")
    with pytest.raises(ModelError, match="missing"):
        Classifier.load(tmp_path)


def test_refuses_corrupt_json(copy):
    (copy / "model.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="not valid JSON"):
        Classifier.load(copy)


def test_refuses_other_format_version(copy):
    _edit_meta(copy, lambda m: m.__setitem__("format_version", FORMAT_VERSION + 1))
    with pytest.raises(ModelError, match="format version"):
        Classifier.load(copy)


def test_refuses_other_format(copy):
    _edit_meta(copy, lambda m: m.__setitem__("format", "sklearn-pickle"))
    with pytest.raises(ModelError, match="not a textclf model"):
        Classifier.load(copy)


def test_refuses_unknown_key(copy):
    _edit_meta(copy, lambda m: m.__setitem__("loader", "os.system"))
    with pytest.raises(ModelError, match="unknown keys"):
        Classifier.load(copy)


def test_refuses_unknown_block_key(copy):
    _edit_meta(copy, lambda m: m["features"][0].__setitem__("callable", "eval"))
    with pytest.raises(ModelError, match="feature block 0"):
        Classifier.load(copy)


def test_refuses_bad_label_list(copy):
    _edit_meta(copy, lambda m: m.__setitem__("labels", m["labels"][:1] * 2))
    with pytest.raises(ModelError, match="labels"):
        Classifier.load(copy)


def test_refuses_tampered_arrays(copy):
    blob = bytearray((copy / "arrays.npz").read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    (copy / "arrays.npz").write_bytes(bytes(blob))
    with pytest.raises(ModelError, match="sha256"):
        Classifier.load(copy)


def test_refuses_truncated_arrays_even_with_matching_checksum(copy):
    blob = (copy / "arrays.npz").read_bytes()[:1000]
    (copy / "arrays.npz").write_bytes(blob)
    sha = hashlib.sha256(blob).hexdigest()
    _edit_meta(copy, lambda m: m["arrays"].__setitem__("sha256", sha))
    with pytest.raises(ModelError, match="cannot read arrays"):
        Classifier.load(copy)


def test_refuses_mismatched_shapes(copy):
    arrays = _arrays(copy)
    arrays["coef"] = arrays["coef"][:, :-1]
    _write_npz(copy, arrays)
    with pytest.raises(ModelError, match="coef"):
        Classifier.load(copy)


def test_refuses_vocabulary_that_disagrees(copy):
    arrays = _arrays(copy)
    arrays["idf_0"] = arrays["idf_0"][:-1]
    _write_npz(copy, arrays)
    with pytest.raises(ModelError, match="feature block 0"):
        Classifier.load(copy)


def test_refuses_extra_or_missing_arrays(copy):
    arrays = _arrays(copy)
    arrays["extra"] = np.zeros(3)
    _write_npz(copy, arrays)
    with pytest.raises(ModelError, match="unexpected arrays"):
        Classifier.load(copy)
    arrays = _arrays(copy)
    del arrays["extra"], arrays["intercept"]
    _write_npz(copy, arrays)
    with pytest.raises(ModelError, match="missing arrays"):
        Classifier.load(copy)


def test_refuses_non_finite_weights(copy):
    arrays = _arrays(copy)
    arrays["coef"][0, 0] = np.nan
    _write_npz(copy, arrays)
    with pytest.raises(ModelError, match="NaN"):
        Classifier.load(copy)


class _Evil:
    def __reduce__(self):
        return (os.mkdir, (os.environ["TEXTCLF_TEST_EVIL_DIR"],))


def test_never_unpickles(copy, tmp_path, monkeypatch):
    evil_dir = tmp_path / "pwned"
    monkeypatch.setenv("TEXTCLF_TEST_EVIL_DIR", str(evil_dir))
    arrays = _arrays(copy)
    arrays["intercept"] = np.array([_Evil()], dtype=object)
    _write_npz(copy, arrays, pickle_ok=True)
    with zipfile.ZipFile(copy / "arrays.npz") as z:  # the file really does hold a pickle
        assert b"mkdir" in z.read("intercept.npy")
    with pytest.raises(ModelError, match="cannot read arrays"):
        Classifier.load(copy)
    assert not evil_dir.exists()

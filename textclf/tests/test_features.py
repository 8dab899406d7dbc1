import numpy as np
import pytest

from textclf.features import (
    BlockSpec,
    FeatureSpace,
    char_ngrams,
    decode_terms,
    encode_terms,
    normalize,
)


def test_normalize_folds_width_case_and_space():
    assert normalize("  ＡＢＣ１２３\n\t公交　车 ") == "abc123 公交 车"
    assert normalize(None) == ""
    assert normalize("") == ""


def test_char_ngrams():
    assert char_ngrams("公交车", 1, 2) == ["公", "交", "车", "公交", "交车"]
    assert char_ngrams("公", 2, 3) == []


def test_terms_round_trip():
    terms = ["a", "公交", "b c", "ж"]
    assert decode_terms(encode_terms(terms)) == terms
    assert decode_terms(encode_terms([])) == []
    with pytest.raises(ValueError):
        encode_terms(["bad\nterm"])


def test_block_spec_validation():
    with pytest.raises(ValueError):
        BlockSpec("x", "body")
    with pytest.raises(ValueError):
        BlockSpec("x", "title", ngram_min=3, ngram_max=2)
    with pytest.raises(ValueError):
        BlockSpec("x", "title", weight=0)


SPECS = (BlockSpec("t", "title", "char", 1, 3), BlockSpec("d", "detail", "char", 1, 2, max_chars=5, min_df=2))
DOCS = [("公交车太少", "等车要很久很久"), ("学校补课", ""), ("公交 线路", "车太少了"), ("", "学校收费")]


def test_single_vector_equals_training_matrix():
    counted = FeatureSpace.count(SPECS, DOCS)
    space, X = FeatureSpace.fit_from_counts(SPECS, counted)
    Y = space.transform(DOCS)
    Z = space.transform_counted(counted)
    assert X.shape == Y.shape == Z.shape == (len(DOCS), space.n_features)
    np.testing.assert_allclose(X.toarray(), Y.toarray(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(X.toarray(), Z.toarray(), rtol=1e-12, atol=1e-12)
    # each non-empty block is L2-normalised (weight 1)
    t = space.blocks[0].size
    norms = np.linalg.norm(X.toarray()[:, :t], axis=1)
    np.testing.assert_allclose(norms[[0, 1, 2]], 1.0)
    assert norms[3] == 0.0


def test_min_df_and_truncation():
    counted = FeatureSpace.count(SPECS, DOCS)
    space, _ = FeatureSpace.fit_from_counts(SPECS, counted)
    detail_terms = set(space.blocks[1].terms)
    assert "车" in detail_terms  # in two details
    assert "久" not in detail_terms  # only after the 5th character of one detail
    assert "学" not in detail_terms  # df 1 < min_df 2
    assert space.blocks[0].terms == sorted(space.blocks[0].terms)

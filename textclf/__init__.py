"""textclf — a calibrated Chinese text classifier for citizens' messages (no Django, no pickle).

    from textclf import Classifier, train, ModelError
    clf = train(records, seed=0)      # records: dicts with title, detail, label
    clf.save(model_dir)
    clf = Classifier.load(model_dir)
    clf.predict(title, detail)        # Prediction(label, score, top=[(label, score)] * 3)

See docs/classifier.md.
"""

from ._version import __version__
from .calibration import ece, ece_from_proba, fit_temperature, softmax
from .evaluate import cross_validate, duplicate_groups, evaluate, metrics
from .features import BlockSpec
from .io import read_jsonl
from .model import (
    FORMAT_VERSION,
    Classifier,
    Component,
    DataError,
    ModelError,
    Prediction,
    TrainConfig,
    train,
)

__all__ = [
    "FORMAT_VERSION",
    "BlockSpec",
    "Classifier",
    "Component",
    "DataError",
    "ModelError",
    "Prediction",
    "TrainConfig",
    "__version__",
    "cross_validate",
    "duplicate_groups",
    "ece",
    "ece_from_proba",
    "evaluate",
    "fit_temperature",
    "metrics",
    "read_jsonl",
    "softmax",
    "train",
]

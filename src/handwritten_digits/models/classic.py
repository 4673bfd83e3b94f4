"""Classic scikit-learn pipelines on flattened 28x28 images (N, 784) in [0, 1].

``make_pipeline(name, seed)`` builds one of :data:`MODELS`:

* ``logreg``: multinomial logistic regression on the raw pixels (small: the bundled-size baseline);
* ``knn``: PCA to 40 components, then 3 nearest neighbours (PCA keeps the search and the model small);
* ``forest``: 100-tree random forest;
* ``svm``: PCA to 50 components, then an RBF-kernel SVC (PCA keeps training to minutes);
* ``best``: :class:`Deskew`, PCA(50), RBF SVC: deskewing removes the slant that causes most of an
  SVM's errors on MNIST.

The SVCs have no Platt scaling (``probability=True`` costs about 9x the fit time and is deprecated
in scikit-learn 1.9); their decision values are calibrated by a temperature on the validation set.
``break_ties=True`` makes scikit-learn's label the argmax of those values, as the runtime's is.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from handwritten_digits.reading.normalize import deskew

MODELS = ["logreg", "knn", "forest", "svm", "best"]


def _check_flat(X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2 or X.shape[1] != 784:
        raise ValueError(f"Deskew expects (N, 784) flattened 28x28 images, got shape {X.shape}")
    return X


class Deskew(TransformerMixin, BaseEstimator):
    """Straighten slanted digits with image moments (``reading.normalize.deskew``), flattened in and out.

    Stateless: ``fit`` only records the input width. Not exported to ONNX: a model card with
    ``input.deskew = true`` makes the runtime apply the same ``deskew`` first.
    """

    def fit(self, X, y=None):
        self.n_features_in_ = _check_flat(X).shape[1]
        return self

    def transform(self, X):
        X = _check_flat(X)
        return np.stack([deskew(im) for im in X.reshape(-1, 28, 28)]).reshape(len(X), 784)


def make_pipeline(name: str, seed: int = 0) -> Pipeline:
    """A fresh, unfitted pipeline.

    Parameters
    ----------
    name : str
        One of :data:`MODELS`.
    seed : int
        ``random_state`` of every randomised step.

    Returns
    -------
    Pipeline
        Takes flattened (N, 784) float images in [0, 1]; the classifier step is named ``clf``.
    """
    steps = {
        "logreg": lambda: [("clf", LogisticRegression(C=0.1, max_iter=300, random_state=seed))],
        "knn": lambda: [("pca", PCA(40, random_state=seed)), ("clf", KNeighborsClassifier(3))],
        "forest": lambda: [("clf", RandomForestClassifier(100, n_jobs=-1, random_state=seed))],
        "svm": lambda: [("pca", PCA(50, random_state=seed)), ("clf", SVC(C=5.0, gamma="scale", break_ties=True, random_state=seed))],
        "best": lambda: [("deskew", Deskew()), ("pca", PCA(50, random_state=seed)),
                         ("clf", SVC(C=5.0, gamma="scale", break_ties=True, random_state=seed))],
    }
    if name not in steps:
        raise ValueError(f"unknown classic model '{name}' (choose from {', '.join(MODELS)})")
    return Pipeline(steps[name]())

"""Classic scikit-learn pipelines on flattened 28x28 images (N, 784) in [0, 1]."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from handwritten_digits.preprocess import deskew


class Deskew(TransformerMixin, BaseEstimator):
    """Straighten slanted digits with image moments (``preprocess.deskew``), flattened in and out."""

    def fit(self, X, y=None):
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != 784:
            raise ValueError(f"Deskew expects (N, 784) flattened 28x28 images, got {X.shape}")
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        X = np.asarray(X, dtype=np.float32).reshape(-1, 28, 28)
        return np.stack([deskew(im) for im in X]).reshape(len(X), 784)


def make_pipeline(name: str, seed: int = 0) -> Pipeline:
    """A fresh, unfitted pipeline for ``logreg``, ``knn``, ``forest``, ``svm`` or ``best``."""
    steps = {
        "logreg": [("clf", LogisticRegression(C=0.1, max_iter=300, random_state=seed))],
        "knn": [("pca", PCA(40, random_state=seed)), ("clf", KNeighborsClassifier(4, weights="distance"))],
        "forest": [("clf", RandomForestClassifier(100, n_jobs=-1, random_state=seed))],
        "svm": [("pca", PCA(50, random_state=seed)), ("clf", SVC(C=5.0, gamma="scale", random_state=seed))],
        # deskewing straightens the slant that costs an RBF SVM most of its errors
        "best": [("deskew", Deskew()), ("pca", PCA(50, random_state=seed)),
                 ("clf", SVC(C=5.0, gamma="scale", random_state=seed))],
    }
    if name not in steps:
        raise ValueError(f"unknown classic model '{name}' (choose from {', '.join(steps)})")
    return Pipeline(steps[name])


MODELS = ["logreg", "knn", "forest", "svm", "best"]

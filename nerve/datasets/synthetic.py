"""Synthetic classification data: Gaussian blobs and ``make_classification`` (seed-001-part1 §3.1, the PLA data).

``make_classification`` delegates to scikit-learn when installed (so ``random_state=5, class_sep=1.5``
reproduces the book's points exactly); without it, a NumPy version of the same construction (one Gaussian
cluster per class centred on a hypercube vertex at +-class_sep, informative features only) is used, whose
numbers differ from scikit-learn's.
"""
import numpy as np


def make_blobs(n_samples=100, centers=2, n_features=2, cluster_std=1.0, center_box=(-10.0, 10.0), seed=None):
    """Isotropic Gaussian blobs: X (n_samples, n_features) float64, y int64 cluster index.
    ``centers``: an int (drawn uniformly in ``center_box``) or an array (n_centers, n_features)."""
    rs = np.random.RandomState(seed)
    if isinstance(centers, (int, np.integer)):
        if centers < 1:
            raise ValueError(f"make_blobs: argument 'centers' must be >= 1, got {centers}")
        centers = rs.uniform(center_box[0], center_box[1], (int(centers), n_features))
    centers = np.asarray(centers, float)
    if centers.ndim != 2:
        raise ValueError(f"make_blobs: argument 'centers' must be an int or a 2-D array, got {centers.shape}")
    k = len(centers)
    y = np.arange(n_samples) % k
    rs.shuffle(y)
    X = centers[y] + rs.normal(0.0, cluster_std, (n_samples, centers.shape[1]))
    return X, y.astype(np.int64)


def make_classification(n_samples=100, n_features=2, n_informative=2, n_redundant=0, n_repeated=0, n_classes=2,
                        n_clusters_per_class=1, class_sep=1.0, random_state=None, **kwargs):
    """scikit-learn's ``make_classification`` (same arguments); NumPy fallback when it is not installed."""
    try:
        from sklearn.datasets import make_classification as mc
    except ImportError:
        mc = None
    if mc is not None:
        X, y = mc(n_samples=n_samples, n_features=n_features, n_informative=n_informative,
                  n_redundant=n_redundant, n_repeated=n_repeated, n_classes=n_classes,
                  n_clusters_per_class=n_clusters_per_class, class_sep=class_sep, random_state=random_state,
                  **kwargs)
        return X, y.astype(np.int64)
    if n_redundant or n_repeated or n_clusters_per_class != 1 or n_informative != n_features or kwargs:
        raise ImportError("make_classification: these arguments need scikit-learn; install the extra: "
                          "pip install 'nerve[sklearn]'")
    rs = np.random.RandomState(random_state)
    vertices = np.array([[(c >> b) & 1 for b in range(n_features)] for c in range(n_classes)], float)
    centers = (2 * vertices - 1) * class_sep
    return make_blobs(n_samples, centers, cluster_std=1.0, seed=rs.randint(2**31 - 1))

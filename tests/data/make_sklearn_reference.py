#!/usr/bin/python3
"""Writes the scikit-learn reference for tests/test_cluster_sklearn.c (run once, results committed):

  cluster_matrix.npy.gz   300 real 28x28 Quick, Draw! bitmaps (75 each of airplane, circle, star, square: the first
                          rows of ../shared/data/quickdraw/bitmaps_28x28/HR-Shekhar_Doodle_Predictor/*.npy.gz)
  cluster_sklearn.json    on X = pixels / 255 with the all-zero columns dropped: PCA explained-variance ratios
                          (10 components, and the count for 90%), K-Means inertia (k = 3..6, best of 10 restarts)
                          on the 10 PCA scores, the k-distance knee eps (k = 5), DBSCAN labels for that eps and
                          min_samples 5, and silhouettes of given labellings.

Run: /usr/bin/python3 tests/data/make_sklearn_reference.py [path to ../shared/data/quickdraw]
Needs python3-sklearn (Debian 12: scikit-learn 1.2.1).
"""
import gzip, io, json, os, sys
import numpy as np
import sklearn
from sklearn.cluster import DBSCAN, KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_samples
from sklearn.neighbors import NearestNeighbors

here = os.path.dirname(os.path.abspath(__file__))
shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "..", "shared", "data", "quickdraw")
src = os.path.join(shared, "bitmaps_28x28", "HR-Shekhar_Doodle_Predictor")
CLASSES, PER_CLASS = ("airplane", "circle", "star", "square"), 75


def knee_eps(Z, k):
    """The same rule as ../shared/peers/sk_cluster.py."""
    d, _ = NearestNeighbors(n_neighbors=k).fit(Z).kneighbors(Z)
    kd = np.sort(d[:, -1])
    x = np.linspace(0, 1, len(kd)); yv = (kd - kd[0]) / (kd[-1] - kd[0] + 1e-12)
    i = int(np.argmax(x - yv))
    return float(kd[i]), i / len(kd)


rows = []
for c in CLASSES:
    with gzip.open(os.path.join(src, c + ".npy.gz"), "rb") as f:
        rows.append(np.load(io.BytesIO(f.read()))[:PER_CLASS].reshape(PER_CLASS, 28, 28))
pix = np.concatenate(rows).astype(np.uint8)
buf = io.BytesIO()
np.save(buf, pix)
with gzip.GzipFile(os.path.join(here, "cluster_matrix.npy.gz"), "wb", mtime=0) as f:
    f.write(buf.getvalue())

X0 = pix.reshape(len(pix), -1).astype(np.float64) / 255.0
keep = X0.any(axis=0)
X = X0[:, keep]
pca = PCA(n_components=10, svd_solver="full").fit(X)
Z = pca.transform(X)
p90 = PCA(n_components=0.9, svd_solver="full").fit(X)
kmeans = {}
for k in range(3, 7):
    km = KMeans(n_clusters=k, n_init=10, random_state=0).fit(Z)
    kmeans[str(k)] = km.inertia_
eps, q = knee_eps(Z, 5)
db = DBSCAN(eps=eps, min_samples=5).fit(Z)
# A fixed eps too, so DBSCAN is compared at a second density.
db2 = DBSCAN(eps=2.5, min_samples=4).fit(Z)
km4 = KMeans(n_clusters=4, n_init=10, random_state=0).fit(Z)
mask = db.labels_ >= 0
sil_db = silhouette_samples(Z[mask], db.labels_[mask]) if len(set(db.labels_[mask])) > 1 else np.array([])
ref = {
    "sklearn": sklearn.__version__,
    "n": int(X.shape[0]), "d": int(X0.shape[1]), "kept": int(X.shape[1]),
    "pca_ratios": pca.explained_variance_ratio_.tolist(),
    "pca90_components": int(p90.n_components_),
    "pca90_sum": float(p90.explained_variance_ratio_.sum()),
    "kmeans_inertia": kmeans,
    "knee_eps": eps, "knee_quantile": q,
    "dbscan": {"eps": eps, "min_samples": 5, "labels": db.labels_.tolist()},
    "dbscan_fixed": {"eps": 2.5, "min_samples": 4, "labels": db2.labels_.tolist()},
    "kmeans4_labels": km4.labels_.tolist(),
    "kmeans4_silhouette": silhouette_samples(Z, km4.labels_).tolist(),
    "dbscan_silhouette_mean": float(sil_db.mean()) if len(sil_db) else None,
}
with open(os.path.join(here, "cluster_sklearn.json"), "w") as f:
    json.dump(ref, f, indent=None, separators=(",", ":"))
    f.write("\n")
print("n", X.shape[0], "kept", X.shape[1], "of", X0.shape[1], "ratios", np.round(pca.explained_variance_ratio_, 4),
      "pca90", p90.n_components_, "eps", round(eps, 4), "dbscan clusters", db.labels_.max() + 1,
      "noise", int((db.labels_ < 0).sum()), "fixed clusters", db2.labels_.max() + 1, "noise", int((db2.labels_ < 0).sum()),
      "inertia", kmeans)

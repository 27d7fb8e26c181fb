#!/usr/bin/env python3
"""doodle's exact t-SNE next to scikit-learn's TSNE(method="exact", init="pca", perplexity 30) on the same matrix.

t-SNE has no unique answer, so what is compared is what can be: the final KL divergence (doodle's within 5% of
the mean of sklearn's runs with random_state 0-3, or inside their range give or take 3%) and how well each map
keeps neighbourhoods (sklearn.manifold.trustworthiness, 5 neighbours, within 0.02 of sklearn's mean), both maps
scored by sklearn's function; doodle's own trustworthiness is checked against sklearn's on
doodle's map. Exit status 0 when all agree, 1 when not, 77 when sklearn is missing (a skip for CTest).
Usage: tsne_check.py MATRIX.csv BENCH_TSNE_BINARY [perplexity]"""
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
    from sklearn.manifold import TSNE, trustworthiness
except ImportError:
    print("scikit-learn is not installed: skipped")
    sys.exit(77)

path, binary = sys.argv[1], sys.argv[2]
perplexity = float(sys.argv[3]) if len(sys.argv) > 3 else 30.0
X = np.loadtxt(path, delimiter=",", ndmin=2, comments=None,
               skiprows=1 if not open(path).readline()[:1].lstrip("+-.").isdigit() else 0).astype(np.float32)
with tempfile.NamedTemporaryFile(suffix=".csv") as out:
    run = subprocess.run([binary, path, out.name, str(perplexity)], capture_output=True, text=True, check=True)
    print(run.stdout.strip())
    Y_dd = np.loadtxt(out.name, delimiter=",", ndmin=2)
dd_kl = float(run.stdout.split("KL ")[1].split()[0])
dd_trust_own = float(run.stdout.split("trustworthiness(5) ")[1].split(",")[0])

# t-SNE is not convex: sklearn's own KL moves by several per cent with its random_state (the randomized PCA of
# its init), so doodle's is set against sklearn's spread over four seeds.
runs = []
for seed in range(4):
    t0 = time.time()
    sk = TSNE(n_components=2, perplexity=perplexity, method="exact", init="pca", learning_rate="auto",
              random_state=seed)
    Y_sk = sk.fit_transform(X)
    runs.append((sk.kl_divergence_, trustworthiness(X, Y_sk, n_neighbors=5), sk.n_iter_, time.time() - t0))
kls = [r[0] for r in runs]
trusts = [r[1] for r in runs]
kl_mean, t_sk = sum(kls) / len(kls), sum(trusts) / len(trusts)
t_dd = trustworthiness(X, Y_dd, n_neighbors=5)
print(f"sklearn n={len(X)}, random_state 0-3: KL " + ", ".join(f"{k:.4f}" for k in kls) +
      f" (mean {kl_mean:.4f}); trustworthiness(5) mean {t_sk:.4f}; {runs[0][2]} iterations, {runs[0][3]:.2f} s a run")
kl_rel = abs(dd_kl - kl_mean) / kl_mean
inside = min(kls) * 0.97 <= dd_kl <= max(kls) * 1.03
print(f"KL: doodle {dd_kl:.4f} vs sklearn's mean {kl_mean:.4f} ({100 * kl_rel:.1f}% apart; sklearn's runs "
      f"{min(kls):.4f}-{max(kls):.4f}); trustworthiness: doodle's map {t_dd:.4f} vs sklearn's mean {t_sk:.4f} "
      f"({t_dd - t_sk:+.4f}); doodle's own score of its map {dd_trust_own:.4f} (sklearn's {t_dd:.4f})")
ok = (kl_rel <= 0.05 or inside) and abs(t_dd - t_sk) <= 0.02 and abs(dd_trust_own - t_dd) <= 1e-3
print("agree" if ok else "DISAGREE")
sys.exit(0 if ok else 1)

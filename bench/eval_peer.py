"""The numpy peer of bench/eval.cpp: the same work done the way torchreid does it.

    python eval_peer.py metrics|rerank DIR

Reads the features and labels bench_eval wrote to DIR, and prints one JSON line with its
timings, its own peak resident memory (VmHWM) and the metrics it found. Only numpy: what
torchreid's python paths (eval_market1501, utils/rerank.py re_ranking) cost; the ports are
the tests' references, in test/reference/torchreid_reference.py.
"""
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "reference"))
from torchreid_reference import eval_market1501, re_ranking, read_labels  # noqa: E402


def peak_rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def squared_euclidean(a, b):
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d, 0, out=d).astype(np.float32, copy=False)


def main():
    part, folder = sys.argv[1], sys.argv[2]
    meta = json.load(open(f"{folder}/meta.json"))
    nq, ng, dims = meta["nq"], meta["ng"], meta["dims"]
    qf = np.fromfile(f"{folder}/query.f32", dtype=np.float32).reshape(nq, dims)
    gf = np.fromfile(f"{folder}/gallery.f32", dtype=np.float32).reshape(ng, dims)
    labels = read_labels(folder)
    out = {}
    start = time.perf_counter()
    if part == "metrics":
        distmat = squared_euclidean(qf, gf)
        out["seconds_distances"] = time.perf_counter() - start
    else:
        distmat = np.sqrt(squared_euclidean(qf, gf))
        q_q = np.sqrt(squared_euclidean(qf, qf))
        g_g = np.sqrt(squared_euclidean(gf, gf))
        out["seconds_distances"] = time.perf_counter() - start
        start = time.perf_counter()
        distmat = re_ranking(distmat, q_q, g_g)
        del q_q, g_g
        out["seconds_rerank"] = time.perf_counter() - start
    start = time.perf_counter()
    cmc, mAP = eval_market1501(distmat, *labels, 50)
    out["seconds_metrics"] = time.perf_counter() - start
    out["rank1"], out["mAP"] = float(cmc[0]), float(mAP)
    out["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(out))


if __name__ == "__main__":
    main()

"""Python ports of the evaluation code fgreid is checked against (test/core/test_metrics.cpp,
test_single_shot.cpp, test_rerank.cpp) and timed against (bench/eval_peer.py).

They are the independent references: each keeps its original's steps, so never change one to
agree with the C++. Only numpy; the originals are torchreid's python paths:

- eval_market1501: torchreid.metrics.rank.eval_market1501 (torchreid/metrics/rank.py, the
  python path; the cython one gives the same numbers), verbatim but for the loop head and AP
  step that torchreid writes out in both of its protocols and this module writes once.
- eval_market1501_minp: the same loop with fast-reid's mINP (fastreid/evaluation/rank.py,
  eval_market1501) and two departures for small cases: a CMC shorter than max_rank is padded
  with its last value (torchreid shortens max_rank to the gallery, which breaks when a query
  loses gallery entries), and the CMC is summed in float64 where torchreid casts to float32.
- eval_cuhk03_single_shot: torchreid.metrics.rank.eval_cuhk03 (single-gallery-shot), with
  np.random.choice replaced by fgreid's documented counter-based draw (of an identity's kept
  entries in ascending gallery index), a stable sort, and the CMC padded as above.
- re_ranking: torchreid.utils.rerank.re_ranking (torchreid/utils/rerank.py, k-reciprocal
  re-ranking of Zhong et al. 2017), verbatim.
- read_labels, read_case: the binary files the C++ side writes (test/reference.hpp,
  bench/eval.cpp).
"""
import json
from collections import defaultdict

import numpy as np

LABEL_FILES = ("query_pids", "gallery_pids", "query_camids", "gallery_camids")


def read_labels(folder):
    """q_pids, g_pids, q_camids, g_camids (torchreid's argument order) from FOLDER/<name>.i64."""
    return tuple(np.fromfile(f"{folder}/{name}.i64", dtype=np.int64) for name in LABEL_FILES)


def read_case(folder):
    """meta.json, the float32 distances.f32 as an nq x ng matrix, and read_labels(folder)."""
    meta = json.load(open(f"{folder}/meta.json"))
    distmat = np.fromfile(f"{folder}/distances.f32", dtype=np.float32).reshape(meta["nq"], meta["ng"])
    return meta, distmat, read_labels(folder)


def _valid_queries(distmat, q_pids, g_pids, q_camids, g_camids, sort_kind=None):
    """The loop head both torchreid protocols share: per query, its gallery order, which of it
    is kept (not the query's identity seen by the query's camera) and the kept entries'
    matches (raw_cmc); a query left without a match is skipped."""
    indices = np.argsort(distmat, axis=1, kind=sort_kind)
    matches = (g_pids[indices] == q_pids[:, np.newaxis]).astype(np.int32)
    for q_idx in range(distmat.shape[0]):
        q_pid, q_camid = q_pids[q_idx], q_camids[q_idx]
        order = indices[q_idx]
        remove = (g_pids[order] == q_pid) & (g_camids[order] == q_camid)
        keep = np.invert(remove)
        raw_cmc = matches[q_idx][keep]
        if not np.any(raw_cmc):
            continue
        yield q_idx, order, keep, raw_cmc


def _average_precision(raw_cmc):
    """torchreid's AP of one query's kept matches."""
    num_rel = raw_cmc.sum()
    tmp_cmc = raw_cmc.cumsum()
    tmp_cmc = [x / (i + 1.) for i, x in enumerate(tmp_cmc)]
    tmp_cmc = np.asarray(tmp_cmc) * raw_cmc
    return tmp_cmc.sum() / num_rel


def _market1501_queries(distmat, q_pids, g_pids, q_camids, g_camids, max_rank, pad_cmc, with_minp):
    """eval_market1501's per-query loop: each valid query's CMC cut at max_rank (padded with its
    last value up to max_rank if pad_cmc), AP, and with_minp fast-reid's INP."""
    all_cmc, all_AP, all_INP = [], [], []
    for _, _, _, raw_cmc in _valid_queries(distmat, q_pids, g_pids, q_camids, g_camids):
        cmc = raw_cmc.cumsum()
        if with_minp:
            pos_idx = np.where(raw_cmc == 1)
            max_pos_idx = np.max(pos_idx)
            all_INP.append(cmc[max_pos_idx] / (max_pos_idx + 1.0))
        cmc[cmc > 1] = 1
        cmc = cmc[:max_rank]
        if pad_cmc and len(cmc) < max_rank:
            cmc = np.pad(cmc, (0, max_rank - len(cmc)), mode="edge")
        all_cmc.append(cmc)
        all_AP.append(_average_precision(raw_cmc))
    return all_cmc, all_AP, all_INP


def eval_market1501(distmat, q_pids, g_pids, q_camids, g_camids, max_rank):
    """torchreid.metrics.rank.eval_market1501 (the python path): (cmc, mAP)."""
    num_q, num_g = distmat.shape
    if num_g < max_rank:
        max_rank = num_g
    all_cmc, all_AP, _ = _market1501_queries(distmat, q_pids, g_pids, q_camids, g_camids,
                                             max_rank, pad_cmc=False, with_minp=False)
    num_valid_q = float(len(all_cmc))
    all_cmc = np.asarray(all_cmc).astype(np.float32)
    all_cmc = all_cmc.sum(0) / num_valid_q
    return all_cmc, np.mean(all_AP)


def eval_market1501_minp(distmat, q_pids, g_pids, q_camids, g_camids, max_rank):
    """eval_market1501 with fast-reid's mINP, the CMC padded to max_rank and summed in float64:
    (cmc, mAP, mINP, number of valid queries); zeros where no query is valid."""
    all_cmc, all_AP, all_INP = _market1501_queries(distmat, q_pids, g_pids, q_camids, g_camids,
                                                   max_rank, pad_cmc=True, with_minp=True)
    num_valid_q = len(all_cmc)
    if num_valid_q == 0:
        return np.zeros(max_rank), 0.0, 0.0, 0
    cmc = np.asarray(all_cmc, dtype=np.float64).sum(0) / num_valid_q
    return cmc, float(np.mean(all_AP)), float(np.mean(all_INP)), num_valid_q


M64 = (1 << 64) - 1


def _mix(x):
    """splitmix64's finaliser, as fgreid::eval::single_shot_draw uses it."""
    x = (x + 0x9e3779b97f4a7c15) & M64
    x = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & M64
    x = ((x ^ (x >> 27)) * 0x94d049bb133111eb) & M64
    return x ^ (x >> 31)


def single_shot_draw(seed, q, r, pid):
    """The counter-based draw that replaces np.random.choice: query q, repeat r, identity pid."""
    return _mix(_mix(_mix(_mix(seed) ^ q) ^ r) ^ (pid & M64))


def eval_cuhk03_single_shot(distmat, q_pids, g_pids, q_camids, g_camids, max_rank, repeats, seed):
    """torchreid.metrics.rank.eval_cuhk03 with single_shot_draw, a stable sort and a padded CMC:
    (cmc, mAP, number of valid queries)."""
    all_cmc, all_AP = [], []
    for q_idx, order, keep, raw_cmc in _valid_queries(distmat, q_pids, g_pids, q_camids, g_camids,
                                                      sort_kind="stable"):
        kept_g_pids = g_pids[order][keep]
        kept_g_index = order[keep]
        g_pids_dict = defaultdict(list)
        for idx, pid in enumerate(kept_g_pids):
            g_pids_dict[pid].append(idx)
        cmc = np.zeros(max_rank)
        for repeat_idx in range(repeats):
            mask = np.zeros(len(raw_cmc), dtype=bool)
            for pid, idxs in g_pids_dict.items():
                members = sorted(idxs, key=lambda k: kept_g_index[k])  # ascending gallery index
                mask[members[single_shot_draw(seed, q_idx, repeat_idx, int(pid)) % len(members)]] = True
            _cmc = raw_cmc[mask].cumsum()
            _cmc[_cmc > 1] = 1
            _cmc = _cmc[:max_rank]
            _cmc = np.pad(_cmc, (0, max_rank - len(_cmc)), mode="edge")
            cmc += _cmc
        all_cmc.append(cmc / repeats)
        all_AP.append(_average_precision(raw_cmc))
    return np.sum(all_cmc, 0) / len(all_cmc), float(np.mean(all_AP)), len(all_cmc)


def re_ranking(q_g_dist, q_q_dist, g_g_dist, k1=20, k2=6, lambda_value=0.3):
    """torchreid.utils.rerank.re_ranking, verbatim."""
    original_dist = np.concatenate(
        [np.concatenate([q_q_dist, q_g_dist], axis=1),
         np.concatenate([q_g_dist.T, g_g_dist], axis=1)], axis=0)
    original_dist = np.power(original_dist, 2).astype(np.float32)
    original_dist = np.transpose(1. * original_dist / np.max(original_dist, axis=0))
    V = np.zeros_like(original_dist).astype(np.float32)
    initial_rank = np.argsort(original_dist).astype(np.int32)
    query_num = q_g_dist.shape[0]
    gallery_num = q_g_dist.shape[0] + q_g_dist.shape[1]
    all_num = gallery_num
    for i in range(all_num):
        forward_k_neigh_index = initial_rank[i, :k1 + 1]
        backward_k_neigh_index = initial_rank[forward_k_neigh_index, :k1 + 1]
        fi = np.where(backward_k_neigh_index == i)[0]
        k_reciprocal_index = forward_k_neigh_index[fi]
        k_reciprocal_expansion_index = k_reciprocal_index
        for j in range(len(k_reciprocal_index)):
            candidate = k_reciprocal_index[j]
            candidate_forward_k_neigh_index = initial_rank[candidate, :int(np.around(k1 / 2.)) + 1]
            candidate_backward_k_neigh_index = initial_rank[candidate_forward_k_neigh_index, :int(np.around(k1 / 2.)) + 1]
            fi_candidate = np.where(candidate_backward_k_neigh_index == candidate)[0]
            candidate_k_reciprocal_index = candidate_forward_k_neigh_index[fi_candidate]
            if len(np.intersect1d(candidate_k_reciprocal_index, k_reciprocal_index)) > 2. / 3 * len(candidate_k_reciprocal_index):
                k_reciprocal_expansion_index = np.append(k_reciprocal_expansion_index, candidate_k_reciprocal_index)
        k_reciprocal_expansion_index = np.unique(k_reciprocal_expansion_index)
        weight = np.exp(-original_dist[i, k_reciprocal_expansion_index])
        V[i, k_reciprocal_expansion_index] = 1. * weight / np.sum(weight)
    original_dist = original_dist[:query_num, ]
    if k2 != 1:
        V_qe = np.zeros_like(V, dtype=np.float32)
        for i in range(all_num):
            V_qe[i, :] = np.mean(V[initial_rank[i, :k2], :], axis=0)
        V = V_qe
        del V_qe
    del initial_rank
    invIndex = []
    for i in range(gallery_num):
        invIndex.append(np.where(V[:, i] != 0)[0])
    jaccard_dist = np.zeros_like(original_dist, dtype=np.float32)
    for i in range(query_num):
        temp_min = np.zeros(shape=[1, gallery_num], dtype=np.float32)
        indNonZero = np.where(V[i, :] != 0)[0]
        indImages = [invIndex[ind] for ind in indNonZero]
        for j in range(len(indNonZero)):
            temp_min[0, indImages[j]] = temp_min[0, indImages[j]] + np.minimum(
                V[i, indNonZero[j]], V[indImages[j], indNonZero[j]])
        jaccard_dist[i] = 1 - temp_min / (2. - temp_min)
    final_dist = jaccard_dist * (1 - lambda_value) + original_dist * lambda_value
    del original_dist, V, jaccard_dist
    return final_dist[:query_num, query_num:]

"""The numpy peer of bench/search.cpp: exact top-K by brute force, as one writes it in numpy.

    python search_peer.py --data DIR --top-k K --block-rows B

The gallery DIR/gallery.npy is read a block of rows at a time (read, not memory-mapped, so that
the peak resident memory counts no page cache) and its squared-Euclidean distances to every
query are computed per block (one BLAS product per block: a 10^6 × 2048 gallery
is 8 GB, and its full 10^2 × 10^6 distance matrix would come on top), each block's K best by
argpartition, merged with the running K best. Prints one JSON line: seconds, peak resident
memory (VmHWM) and the top-K indices.
"""
import argparse
import json
import time

import numpy as np


def peak_rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def gallery_blocks(path, block_rows):
    with open(path, "rb") as file:
        version = np.lib.format.read_magic(file)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(file)
        assert dtype == np.float32 and not fortran and len(shape) == 2
        rows, dims = shape
        for first in range(0, rows, block_rows):
            count = min(block_rows, rows - first)
            yield first, np.fromfile(file, dtype=np.float32, count=count * dims).reshape(count, dims)


def top_k(query, blocks, k):
    query_norms = (query * query).sum(1)[:, None]
    best_d = np.empty((query.shape[0], 0), np.float32)
    best_i = np.empty((query.shape[0], 0), np.int64)
    for first, block in blocks:
        d = query_norms + (block * block).sum(1)[None, :] - 2.0 * (query @ block.T)
        np.maximum(d, 0, out=d)
        kk = min(k, d.shape[1])
        part = np.argpartition(d, kk - 1, axis=1)[:, :kk]
        best_d = np.concatenate([best_d, np.take_along_axis(d, part, 1)], 1)
        best_i = np.concatenate([best_i, part + first], 1)
        order = np.lexsort((best_i, best_d), axis=1)[:, :k]
        best_d, best_i = np.take_along_axis(best_d, order, 1), np.take_along_axis(best_i, order, 1)
    return best_i


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--block-rows", type=int, default=65536)
    args = parser.parse_args()
    query = np.load(f"{args.data}/query.npy")
    start = time.perf_counter()
    indices = top_k(query, gallery_blocks(f"{args.data}/gallery.npy", args.block_rows), args.top_k)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_rss_mb(), "indices": indices.tolist()}))


if __name__ == "__main__":
    main()

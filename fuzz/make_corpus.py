#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz harnesses: fuzz/corpus/<harness>/, small valid and
near-valid inputs of each reader (run with .venv/bin/python: torch, numpy, scipy, h5py, PIL).

Harnesses whose first byte picks a reader or a mode (see fuzz/<harness>.cpp) get that byte
prepended here. The files are committed; rerun this after changing a harness's input format.
    .venv/bin/python fuzz/make_corpus.py
"""
import io
import pathlib
import shutil
import struct
import tempfile
import zipfile

import h5py
import numpy as np
import scipy.io
import torch
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parent / "corpus"


def put(harness, name, data):
    folder = ROOT / harness
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(bytes(data))


def saved(value):
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


def data_pkl(archive):
    """The pickle of a torch.save archive, for the harnesses' pickle-only mode (first byte 1)."""
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        name = next(n for n in z.namelist() if n.endswith("data.pkl"))
        return z.read(name)


def truncated(data, keep):
    return data[: max(1, int(len(data) * keep))]


# --- weights and checkpoints ---------------------------------------------------------------------
def pickles():
    torch.manual_seed(0)
    conv = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 1), torch.nn.BatchNorm2d(2))
    values = {
        "state_dict": conv.state_dict(),  # an OrderedDict with _metadata
        "plain": {"w": torch.arange(6, dtype=torch.float32).view(2, 3), "b": torch.zeros(2)},
        "checkpoint": {"state_dict": {"w": torch.ones(2, 2)}, "epoch": 3, "rank1": np.float64(0.5),
                       "flags": ["a", 1, 2.5, None, True], "shape": torch.Size([2, 2])},
        "view": {"v": torch.arange(8, dtype=torch.int64)[2:6], "t": torch.ones(2, 3).t()},
        "dtypes": {str(t): torch.ones(2, dtype=t) for t in
                   (torch.float16, torch.bfloat16, torch.int8, torch.uint8, torch.bool, torch.int32)},
        "parameter": {"p": torch.nn.Parameter(torch.ones(3))},
        "empty": {},
        "shared": (lambda t: {"a": t, "b": t[1:]})(torch.arange(4.0)),
    }
    for name, value in values.items():
        archive = saved(value)
        put("pickle", name, b"\x00" + archive)
        put("pickle", name + ".pkl", b"\x01" + data_pkl(archive))
        put("pickle", name + ".truncated", b"\x00" + truncated(archive, 0.6))
    # Near-valid: a global outside the whitelist, a bare (pre-1.6) pickle, a list at the top.
    put("pickle", "os_system.pkl", b"\x01\x80\x02cos\nsystem\nX\x02\x00\x00\x00lsq\x00\x85R.")
    put("pickle", "legacy", b"\x00" + b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19.")
    put("pickle", "list.pkl", b"\x01" + data_pkl(saved([torch.ones(1)])))


# --- features files --------------------------------------------------------------------------------
def features():
    def feature_set(nq=2, ng=3, d=4, frames=False, train=False, dtype=torch.float32):
        out = {"query_features": torch.randn(nq, d).to(dtype), "gallery_features": torch.randn(ng, d).to(dtype),
               "query_pids": torch.arange(nq), "gallery_pids": torch.arange(ng),
               "query_camids": torch.zeros(nq, dtype=torch.int64), "gallery_camids": torch.ones(ng, dtype=torch.int64)}
        if frames:
            out["query_frames"], out["gallery_frames"] = torch.arange(nq), torch.arange(ng)
        if train:
            out.update(train_pids=torch.arange(3), train_camids=torch.zeros(3, dtype=torch.int64),
                       train_frames=torch.arange(3))
        return out

    torch.manual_seed(1)
    sets = {"basic": feature_set(), "frames": feature_set(frames=True), "train": feature_set(train=True),
            "double": feature_set(dtype=torch.float64), "half": feature_set(dtype=torch.float16),
            "int32_labels": {**feature_set(), "query_pids": torch.arange(2, dtype=torch.int32)},
            "mismatch": {**feature_set(), "query_pids": torch.arange(5)},
            "nan": {**feature_set(), "query_features": torch.full((2, 4), float("nan"))},
            "missing": {k: v for k, v in feature_set().items() if k != "gallery_camids"},
            "not_tensor": {**feature_set(), "query_camids": [0, 1]},
            "none_frames": {**feature_set(), "query_frames": None, "gallery_frames": None}}
    for name, value in sets.items():
        archive = saved(value)
        put("features", name, b"\x00" + archive)
        put("features", name + ".pkl", b"\x01" + data_pkl(archive))
    put("features", "basic.truncated", b"\x00" + truncated(saved(sets["basic"]), 0.5))
    put("features", "list.pkl", b"\x01" + data_pkl(saved([torch.ones(2, 2)])))


# --- INI configs -------------------------------------------------------------------------------------
def configs():
    texts = {
        "flat": "batch-p = 8\nbatch-k = 4\nseq-len = 6\n",
        "sections": "# comment\nbatch_p = 8\n[train]\nbatch-k: 2\nclip-sampling = consecutive\n"
                    "cuhk03-classic = true\nvalidation = 0.25\n; another comment\n[other]\nmax-test-clips = 3\n",
        "enum": "[train]\ncuhk03-boxes = labeled\ntest-sampling = sampled\nmax-test-frames = 9\n",
        "crlf": "[train]\r\nbatch-p = 3\r\nsplit-index = 2\r\n",
        "bad_value": "batch-p = eight\n",
        "unknown": "[train]\nno-such-flag = 1\n",
        "no_equals": "batch-p 8\n",
        "open_section": "[train\nbatch-p = 8\n",
        "empty_section": "[]\nbatch-p = 1\n",
        "huge_int": "batch-p = 99999999999999999999\nvalidation = 1e400\n",
        "bool": "cuhk03-classic = maybe\n",
        "empty": "",
    }
    for name, text in texts.items():
        put("config", name, text.encode())


# --- .mat files ----------------------------------------------------------------------------------------
def savemat(variables, **options):
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, variables, **options)
    return buffer.getvalue()


def mat5():
    tracks = np.array([[1, 2, 1, 1], [3, 4, -1, 2], [5, 6, 2, 6]], dtype=np.float64)
    put("mat5", "tracks", b"\x00" + savemat({"track_train_info": tracks}))
    put("mat5", "tracks_int32", b"\x00" + savemat({"track_train_info": tracks.astype(np.int32)}))
    put("mat5", "tracks_compressed", b"\x00" + savemat({"track_train_info": tracks}, do_compression=True))
    put("mat5", "query_idx", b"\x00" + savemat({"query_IDX": np.array([[1, 3, 2.5]])}))
    put("mat5", "ls_set", b"\x00" + savemat({"ls_set": np.arange(20.0).reshape(2, 10)}))
    put("mat5", "complex", b"\x00" + savemat({"query_IDX": np.array([[1 + 2j]])}))
    put("mat5", "three_d", b"\x00" + savemat({"ls_set": np.zeros((2, 2, 2))}))
    put("mat5", "v4", b"\x00" + savemat({"query_IDX": np.array([[1.0, 2.0]])}, format="4"))
    filelist = np.empty((1, 3), dtype=object)
    filelist[0, :] = ["1_001_1_01.png", "1_001_2_06.png", "1_002_1_01.png"]
    protocol = {"labels": np.array([[1], [1], [2]], dtype=np.int32), "train_idx": np.array([[1], [2]], dtype=np.int32),
                "query_idx": np.array([[3]], dtype=np.int32), "gallery_idx": np.array([[1]], dtype=np.int32),
                "filelist": filelist}
    put("mat5", "cuhk03_protocol", b"\x01" + savemat(protocol))
    put("mat5", "cuhk03_protocol_compressed", b"\x01" + savemat(protocol, do_compression=True))
    put("mat5", "cuhk03_protocol_bad_index", b"\x01" + savemat({**protocol, "train_idx": np.array([[0.5]])}))
    split = np.zeros((1, 1), dtype=[("idxProbe", object), ("idxGallery", object), ("idxTrain", object)])
    split[0, 0] = (np.zeros((1, 0)), np.zeros((1, 0)), np.array([[1.0, 2.0, 5.0]]))
    cells = np.empty((1, 2), dtype=object)
    cells[0, 0] = split
    cells[0, 1] = split
    put("mat5", "grid", b"\x02" + savemat({"trainIdxAll": cells}))
    put("mat5", "grid_split1", b"\x06" + savemat({"trainIdxAll": cells}))
    put("mat5", "grid_not_cell", b"\x02" + savemat({"trainIdxAll": np.ones((1, 2))}))
    put("mat5", "struct_as_matrix", b"\x03" + savemat({"trainIdxAll": cells}))
    put("mat5", "truncated", b"\x00" + truncated(savemat({"track_train_info": tracks}), 0.7))


MATLAB_HEADER = (b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."
                 .ljust(116, b" ") + b"\x00" * 8 + struct.pack("<H", 0x0200) + b"IM").ljust(512, b"\x00")


def set_matlab_class(ds, name):
    """MATLAB_class as a null-terminated ASCII string, terminator included: matio 1.5 reads
    h5py's own (null-padded) strings as no class at all, so that a matrix had no data."""
    string = h5py.h5t.C_S1.copy()
    string.set_size(len(name) + 1)
    string.set_strpad(h5py.h5t.STR_NULLTERM)
    attribute = h5py.h5a.create(ds.id, b"MATLAB_class", string, h5py.h5s.create(h5py.h5s.SCALAR))
    attribute.write(np.array(name.encode(), dtype=f"S{len(name) + 1}"))


def h5_mat(build):
    """A MATLAB v7.3 file (HDF5 with a 512-byte user block holding MATLAB's header)."""
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "file.mat"
        with h5py.File(path, "w", userblock_size=512) as f:
            build(f)
        data = bytearray(path.read_bytes())
    data[:128] = MATLAB_HEADER[:128]
    return bytes(data)


def cuhk03(f, persons=2, empty_slot=True, testsets=True):
    refs = f.create_group("#refs#")
    counter = iter(range(10**6))

    def array(value, matlab_class):
        ds = refs.create_dataset(f"a{next(counter)}", data=value)
        set_matlab_class(ds, matlab_class)
        return ds.ref

    ref_type = h5py.special_dtype(ref=h5py.Reference)
    pairs = []
    for _pair in range(2):
        cell = np.empty((10, persons), dtype=ref_type)
        for slot in range(10):
            for person in range(persons):
                if empty_slot and slot == 9:
                    cell[slot, person] = array(np.array([0, 0], dtype=np.uint64), "double")
                else:
                    cell[slot, person] = array(np.full((3, 4, 5), slot * 20 + person, dtype=np.uint8), "uint8")
        ds = refs.create_dataset(f"c{next(counter)}", data=cell)
        set_matlab_class(ds, "cell")
        pairs.append(ds.ref)
    for boxes in ("detected", "labeled"):
        ds = f.create_dataset(boxes, data=np.array([pairs], dtype=ref_type))
        set_matlab_class(ds, "cell")
    if testsets:
        sets = [array(np.array([[1.0, 1.0], [2.0, 2.0]]).T, "double") for _ in range(4)]
        ds = f.create_dataset("testsets", data=np.array([sets], dtype=ref_type))
        set_matlab_class(ds, "cell")


def mat73():
    put("mat73", "cuhk03_detected", b"\x00" + h5_mat(cuhk03))
    put("mat73", "cuhk03_labeled_split1", b"\x06" + h5_mat(cuhk03))
    put("mat73", "cuhk03_one_person", b"\x00" + h5_mat(lambda f: cuhk03(f, persons=1, empty_slot=False)))
    put("mat73", "cuhk03_no_testsets", b"\x00" + h5_mat(lambda f: cuhk03(f, testsets=False)))

    def query_idx(f):
        ds = f.create_dataset("query_IDX", data=np.array([[1.0], [2.0], [4.0]]))
        set_matlab_class(ds, "double")

    put("mat73", "query_idx", b"\x01" + h5_mat(query_idx))
    put("mat73", "truncated", b"\x00" + truncated(h5_mat(cuhk03), 0.5))


# --- dataset names and lists --------------------------------------------------------------------------
def datasets():
    names = {
        0: ["0002_c1s1_000451_03.jpg", "-1_c3s2_012345_00.jpg", "0000_c6s4_999999_99.jpg", "1501_c7s1_0_1.jpg"],
        1: ["0001_c2_f0046182.jpg", "0005_c8_f0000001.jpg"],
        2: ["0000_000_01_0303morning_0015_0.jpg", "0012_017_15_0113noon_0521_2.jpg"],
        3: ["0001_c001_00016450_0.jpg", "0776_c020_00000001_1.jpg"],
        4: ["0001_1_25004_107_32_130.jpeg", "0000_3_25039_143_58_211.jpeg"],
        5: ["0001001.png", "0971004.png"],
        6: ["0001_C1_F0016_X00001.jpg", "0021_C8_F1234_X12345.jpg"],
        7: ["\x02c1s1_000451_03.jpg", "\x00F0016.jpg", "\x01a_b_c.d"],
        8: ["frame2\x00frame10", "a10b2\x00a10b10", "\x00"],
    }
    for parser, items in names.items():
        for i, name in enumerate(items):
            put("datasets", f"name{parser}_{i}", bytes([parser]) + name.encode("latin-1"))
    lists = {
        9: ["0000_000/0000_000_01_0303morning_0015_0.jpg 0\n0001_000/a.jpg 1\n\n", "a.jpg x\n", "a b c\n"],
        10: ["a.jpg 1 2\nb.jpg 3 4\n", "a.jpg 1\n", "a.jpg -1 2\n"],
        11: ["path,pid,camid,frame\ncam0/a.jpg,1,0,7\n\"q, uoted.jpg\",2,1,8\n# note\n", "a.jpg,1,0\n\"open,1,0\n",
             "path,camid,pid\na.jpg,1,0\n"],
        12: ["path,pid,camid,tracklet\nt1/f1.jpg,1,0,t1\nt1/f2.jpg,1,0,t1\n", "a.jpg,1,0,\n"],
        13: ["0001C1T0001F001.jpg\n0001C1T0001F002.jpg\n0002C2T0001F001.jpg\n" + "\x01\x02\x01\x01\x03\x03\xff\x02",
             "0001C1T0001F001.jpg\n\n0001C1T0001F002.jpg\n" + "\x01\x02\x01\x01",
             "0001C1T0001F001.jpg\n0002C3T0001F002.jpg\n" + "\x01\x02\x01\x01"],
    }
    for parser, items in lists.items():
        for i, text in enumerate(items):
            put("datasets", f"list{parser}_{i}", bytes([parser]) + text.encode("latin-1"))


# --- images ---------------------------------------------------------------------------------------------
def images():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(16, 8, 3), dtype=np.uint8)

    def encoded(image, format, **options):
        buffer = io.BytesIO()
        image.save(buffer, format=format, **options)
        return buffer.getvalue()

    rgb = Image.fromarray(pixels)
    variants = {
        "baseline.jpg": encoded(rgb, "JPEG", quality=75),
        "subsampling444.jpg": encoded(rgb, "JPEG", subsampling=0),
        "progressive.jpg": encoded(rgb, "JPEG", progressive=True),
        "gray.jpg": encoded(rgb.convert("L"), "JPEG"),
        "cmyk.jpg": encoded(rgb.convert("CMYK"), "JPEG"),
        "png.png": encoded(rgb, "PNG"),
        "gray16.png": encoded(Image.fromarray((pixels[..., 0].astype(np.uint16) * 257)), "PNG"),
        "bmp.bmp": encoded(rgb, "BMP"),
        "tiff.tif": encoded(rgb, "TIFF"),
    }
    for name, data in variants.items():
        put("jpeg", name, data)
    put("jpeg", "truncated.jpg", truncated(variants["baseline.jpg"], 0.5))
    put("jpeg", "header_only.jpg", variants["baseline.jpg"][:20])
    put("jpeg", "soi_only.jpg", b"\xff\xd8\xff\xd9")
    put("jpeg", "empty_png.png", b"\x89PNG\r\n\x1a\n")


def main():
    if ROOT.exists():
        shutil.rmtree(ROOT)
    for write in (pickles, features, configs, mat5, mat73, datasets, images):
        write()
    for folder in sorted(ROOT.iterdir()):
        files = list(folder.iterdir())
        print(f"{folder.name}: {len(files)} seeds, {sum(f.stat().st_size for f in files)} bytes")


if __name__ == "__main__":
    main()

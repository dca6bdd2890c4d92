"""IDX and NPZ image loading, on small files the tests write; every malformed file -> DataError."""

import gzip
import struct

import numpy as np
import pytest

from nnscratch.base.errors import DataError
from nnscratch.data.images import from_idx, load_idx, load_idx_images, load_image_npz, save_idx


def _idx_bytes(code, dims, payload):
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + payload


def test_load_idx_reads_handwritten_big_endian_file(tmp_path):
    values = np.array([[1, -2, 300], [4, 5, -600]], dtype=np.int16)
    path = tmp_path / "small-idx2-short"
    path.write_bytes(_idx_bytes(0x0B, (2, 3), values.astype(">i2").tobytes()))
    out = load_idx(path)
    np.testing.assert_array_equal(out, values)
    assert out.dtype == np.int16 and out.dtype.isnative


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("name", ["data-idx", "data-idx.gz"])
def test_save_and_load_round_trip(tmp_path, dtype, name):
    arr = (np.arange(2 * 3 * 4) % 100).astype(dtype).reshape(2, 3, 4)
    save_idx(tmp_path / name, arr)
    raw = (tmp_path / name).read_bytes()
    assert (raw[:2] == b"\x1f\x8b") == name.endswith(".gz")
    np.testing.assert_array_equal(load_idx(tmp_path / name), arr)


def test_load_idx_images_pair(tmp_path, rng):
    images = rng.integers(0, 256, size=(5, 4, 3), dtype=np.uint8)
    labels = np.array([0, 3, 9, 1, 1], dtype=np.uint8)
    save_idx(tmp_path / "img.gz", images)
    save_idx(tmp_path / "lab", labels)
    X, y = load_idx_images(tmp_path / "img.gz", tmp_path / "lab")
    assert X.shape == (5, 1, 4, 3) and X.dtype == np.float32
    np.testing.assert_allclose(X[:, 0], images / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, labels)
    assert y.dtype == np.int64
    save_idx(tmp_path / "lab4", labels[:4])
    with pytest.raises(DataError, match=r"5 images .* 4 labels"):
        load_idx_images(tmp_path / "img.gz", tmp_path / "lab4")


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"\x00\x00", "too short"),
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x05", "bad magic number"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", "unknown IDX element type 0x07"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x01", "truncated header"),
        (_idx_bytes(0x08, (2, 3), b"\x01" * 5), "truncated"),
        (_idx_bytes(0x08, (2, 3), b"\x01" * 7), "longer than its header"),
        (gzip.compress(_idx_bytes(0x08, (2,), b"\x01\x02"))[:-6], "gzip"),
    ],
)
def test_load_idx_rejects_malformed_files(tmp_path, content, match):
    path = tmp_path / "bad"
    path.write_bytes(content)
    with pytest.raises(DataError, match=match):
        load_idx(path)


def test_load_idx_missing_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_idx(tmp_path / "nope")


def test_load_image_npz(tmp_path, rng):
    x, y = rng.random((6, 8, 8)), np.arange(6)
    np.savez(tmp_path / "d.npz", x_train=x, y_train=y)
    X, Y = load_image_npz(tmp_path / "d.npz", "x_train", "y_train")
    np.testing.assert_array_equal(X, x)
    np.testing.assert_array_equal(Y, y)
    X_only, none = load_image_npz(tmp_path / "d.npz", "x_train", None)
    assert none is None and X_only.shape == (6, 8, 8)


def test_load_image_npz_errors(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((3, 2, 2)), y=np.zeros(4))
    with pytest.raises(DataError, match=r"missing array\(s\) \['images'\]. Available keys: \['x', 'y'\]"):
        load_image_npz(tmp_path / "d.npz", "images", "y")
    with pytest.raises(DataError, match="disagree"):
        load_image_npz(tmp_path / "d.npz")
    np.savez(tmp_path / "obj.npz", x=np.array([{"a": 1}, None], dtype=object), y=np.zeros(2))
    with pytest.raises(DataError, match="Python objects"):
        load_image_npz(tmp_path / "obj.npz")
    (tmp_path / "junk.npz").write_bytes(b"this is not a zip archive")
    with pytest.raises(DataError, match="not a readable"):
        load_image_npz(tmp_path / "junk.npz")
    np.save(tmp_path / "single.npy", np.zeros((2, 2)))
    with pytest.raises(DataError, match=r"single \.npy"):
        load_image_npz(tmp_path / "single.npy")
    with pytest.raises(DataError, match="not found"):
        load_image_npz(tmp_path / "missing.npz")
    np.savez(tmp_path / "flat.npz", x=np.zeros(3), y=np.zeros(3))
    with pytest.raises(DataError, match="sample axis"):
        load_image_npz(tmp_path / "flat.npz")


def test_from_idx_gives_a_dataset_of_flattened_scaled_images(tmp_path):
    images = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    save_idx(tmp_path / "img-idx3-ubyte", images)
    save_idx(tmp_path / "lab-idx1-ubyte.gz", np.array([2, 0, 1], dtype=np.uint8))
    ds = from_idx(tmp_path / "img-idx3-ubyte", tmp_path / "lab-idx1-ubyte.gz")
    assert ds.X.shape == (3, 20) and ds.X.dtype == np.float64
    np.testing.assert_allclose(ds.X.reshape(3, 4, 5), images / 255.0)
    np.testing.assert_array_equal(ds.y, [2, 0, 1])
    assert ds.task == "multiclass" and ds.feature_names[6] == "pixel_1_1"
    assert "Unflatten(1, [1, 4, 5])" in ds.description


def test_image_loaders_are_exported_from_nnscratch_data():
    import nnscratch as ns

    assert ns.data.load_idx is load_idx and ns.data.load_image_npz is load_image_npz
    assert ns.data.save_idx is save_idx and ns.data.load_idx_images is load_idx_images

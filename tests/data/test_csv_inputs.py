"""CSV files a user really has: one class only, another separator, a million rows.

Good numeric files take the vectorised path (NumPy's C parser, read once); anything else takes the
cell-by-cell path that names the line and column. Both give the same dataset.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnscratch.base.errors import DataError
from nnscratch.data import files, from_csv


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def slow_path(monkeypatch) -> None:
    """Make the fast path give up, as it does on any bad cell."""
    monkeypatch.setattr(files, "read_numeric", lambda *args: None)


# -- one class -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a,b,label\n1,2,1\n3,4,1\n5,6,1\n", "(1) in all 3 rows"),
        ("a,species\n1,setosa\n2,setosa\n", "(setosa) in all 2 rows"),
        ("1,2,0\n3,4,0\n", "column 3 holds a single class (0)"),
    ],
)
@pytest.mark.parametrize("fast", [True, False])
def test_a_single_class_target_is_a_data_error(tmp_path, monkeypatch, text, shown, fast):
    if not fast:
        slow_path(monkeypatch)
    with pytest.raises(DataError, match="single class") as info:
        from_csv(write(tmp_path, "one.csv", text))
    assert shown in str(info.value) and "at least two classes" in str(info.value)


def test_a_single_valued_target_can_still_be_a_regression(tmp_path):
    ds = from_csv(write(tmp_path, "r.csv", "a,y\n1,2\n3,2\n"), task="regression")
    assert ds.task == "regression" and np.array_equal(ds.y, [2.0, 2.0])


def test_a_single_class_in_separate_y_file(tmp_path):
    x = write(tmp_path, "X.csv", "1,2\n3,4\n")
    with pytest.raises(DataError, match=r"y\.csv: the target column 1 holds a single class"):
        from_csv(x, y_path=write(tmp_path, "y.csv", "1\n1\n"))


# -- separators ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("a;b;label\n1;2;0\n3;4;1\n", "delimiter=';'"),
        ("a\tb\tlabel\n1\t2\t0\n3\t4\t1\n", "delimiter='\\\\t'"),
    ],
)
def test_another_separator_gets_a_hint(tmp_path, text, hint):
    with pytest.raises(DataError, match="single column") as info:
        from_csv(write(tmp_path, "d.csv", text))
    assert "looks" in str(info.value) and hint in str(info.value) and "[data] delimiter" in str(info.value)


def test_a_cell_holding_another_separator_gets_a_hint(tmp_path):
    with pytest.raises(DataError, match=r"cannot read '1;2' as a number\. It looks semicolon-separated"):
        from_csv(write(tmp_path, "d.csv", "a,label\n1;2,0\n3;4,1\n"))


def test_a_tab_separated_file_reads_with_its_delimiter(tmp_path):
    ds = from_csv(write(tmp_path, "d.tsv", "a\tb\tlabel\n1\t2\t0\n3\t4\t1\n"), delimiter="\t")
    assert np.array_equal(ds.X, [[1, 2], [3, 4]]) and ds.feature_names == ["a", "b"]


# -- the fast path ---------------------------------------------------------------------------------
cells = st.floats(allow_nan=False, allow_infinity=False, width=64) | st.integers(-(10**6), 10**6)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 5).flatmap(
        lambda w: st.lists(st.lists(cells, min_size=w, max_size=w), min_size=2, max_size=12)
    ),
    st.booleans(),
    st.sampled_from([",", ";", "\t"]),
)
def test_the_fast_and_the_slow_path_read_the_same_dataset(tmp_path_factory, rows, header, sep):
    folder = tmp_path_factory.mktemp("csv")
    width = len(rows[0])
    rows = [[*row, i % 2] for i, row in enumerate(rows)]  # two classes in the last column
    lines = [sep.join(f"c{j}" for j in range(width + 1))] if header else []
    lines += [sep.join(repr(v) for v in row) for row in rows]
    path = folder / "d.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    fast = from_csv(path, delimiter=sep, header=header)
    original = files.read_numeric
    files.read_numeric = lambda *args: None
    try:
        slow = from_csv(path, delimiter=sep, header=header)
    finally:
        files.read_numeric = original
    assert np.array_equal(fast.X, slow.X) and np.array_equal(fast.y, slow.y)
    assert fast.feature_names == slow.feature_names and fast.task == slow.task
    assert fast.target_names == slow.target_names


def test_the_fast_path_keeps_bom_blank_lines_and_quotes(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b'\xef\xbb\xbfa,b,label\n\n1,"2",0\n\n 3 , 4 ,1\n')
    ds = from_csv(path)
    assert ds.feature_names == ["a", "b"] and np.array_equal(ds.X, [[1, 2], [3, 4]])


def test_a_bad_cell_after_many_good_rows_is_still_located(tmp_path):
    rows = "\n".join(f"{i},{i % 2}" for i in range(2000))
    path = write(tmp_path, "d.csv", f"a,label\n{rows}\n5,x\n7\n")
    with pytest.raises(DataError, match=r"d\.csv, line 2003: expected 2 values"):
        from_csv(path)


def test_a_large_numeric_file_is_read_in_one_pass_within_3x_its_size(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    n = 50_000
    table = np.column_stack([rng.normal(size=(n, 10)), rng.integers(0, 2, n)])
    path = tmp_path / "big.csv"
    np.savetxt(path, table, delimiter=",", fmt=["%.6f"] * 10 + ["%d"], header="", comments="")

    def no_text_pass(*args):
        raise AssertionError("a good numeric file must not be read cell by cell")

    monkeypatch.setattr(files, "_table", no_text_pass)
    tracemalloc.start()
    try:
        ds = from_csv(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert ds.X.shape == (n, 10) and np.allclose(ds.X, table[:, :10], atol=1e-6)
    assert peak <= 3 * table.nbytes, f"peak {peak / 1e6:.1f} MB for {table.nbytes / 1e6:.1f} MB of data"

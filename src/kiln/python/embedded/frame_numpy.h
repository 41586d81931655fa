// python/embedded/frame_numpy.h: frames (python/frame.h) as pandas DataFrames, inside the
// Python block process (kiln-python). Not part of kiln_core: only kiln-python links Python.
#pragma once

#include <pybind11/pybind11.h>

namespace kiln::python {

//! Builds a pandas.DataFrame from the frame in `fd` (read through mmap). Fixed-width columns
//! wrap the mapping without a per-value copy where the dtype allows it (int64, float64,
//! datetime64[ns]); "Int64"/"boolean" columns become pandas masked arrays from the validity;
//! a float64 NULL becomes NaN and a timestamp NULL NaT; strings become Python str (None for
//! NULL); json values are decoded (json.loads); dates become datetime.date objects; "category"
//! columns become categoricals; the index is restored. The DataFrame keeps the mapping alive as
//! long as it needs it. REQUIRES: the GIL. Raises ValueError for a malformed frame.
//! `fd` stays the caller's: the mapping is copy-on-write (the DataFrame's arrays are writable,
//! the frame never changes) and outlives `fd`, which may be closed right after.
//! A dtype that does not fit the column's values (e.g. "int64" with NULLs, "Int64" for floats
//! with fractions or beyond int64) leaves the column as its kind builds it ("Int64", float64).
pybind11::object FrameToDataFrame(int fd);

//! Writes `df` (a pandas.DataFrame) into a new frame (a sealed memfd) and returns its fd, owned
//! by the caller. Column kinds: signed and unsigned integers (that fit) -> int64; nullable
//! Int*/UInt* -> int64 + validity; floats -> float64 (NaN -> NULL); bool / boolean -> bool;
//! datetime64[ns] -> timestamp (NaT -> NULL); datetime64[ns, tz] -> timestamp (UTC) with tz;
//! timedelta64 -> int64 nanoseconds; category -> string; object columns by their values:
//! str/None/NaN -> string, datetime.date -> date, datetime.datetime -> timestamp, dict/list
//! -> json, mixed values -> string of each (as Mage casts mixed columns to str). Column names
//! become str. A non-default index (not RangeIndex(0..n) without name) becomes columns named
//! after its levels or "__index_level_<i>__", listed in the header's "index". pandas_dtype is
//! str(dtype) of each column. Raises TypeError naming a column that cannot be represented and
//! ValueError for duplicate column names ("Please do not use duplicate column name", as Mage).
int DataFrameToFrame(pybind11::handle df);

}  // namespace kiln::python

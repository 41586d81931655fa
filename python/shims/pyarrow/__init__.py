"""Kiln's pyarrow stand-in: the few pyarrow names Mage projects use to write Parquet datasets to
object stores, served by Kiln's runner (its DuckDB and its GCS/S3/local stores) instead of Arrow.

It is appended to sys.path after pandas is imported, so pandas still sees no usable pyarrow
(its version check rejects "0.0.0+kiln"), and a real pyarrow earlier on sys.path (a project's
python_venv) wins. Offered: Table.from_pandas, fs.GcsFileSystem / S3FileSystem /
LocalFileSystem, parquet.write_to_dataset / write_table / read_table.
"""

__version__ = "0.0.0+kiln"

from pyarrow import fs  # noqa: E402  (real pyarrow has pa.fs once pyarrow.parquet is imported)
from pyarrow._table import Table  # noqa: E402

OFFERED = ("Table.from_pandas, fs.GcsFileSystem/S3FileSystem/LocalFileSystem, "
           "parquet.write_to_dataset/write_table/read_table")


def __getattr__(name):
    if name.startswith("__") and name.endswith("__"):
        raise AttributeError(name)
    raise AttributeError("pyarrow.%s is not in Kiln's pyarrow stand-in (%s); put pyarrow in the "
                         "project's python_venv for the rest" % (name, OFFERED))

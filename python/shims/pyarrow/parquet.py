"""pyarrow.parquet in Kiln's stand-in: write_to_dataset, write_table and read_table, run by
Kiln's runner (DuckDB writes the Parquet, the object store publishes each file whole).
Other keyword arguments raise TypeError naming them."""

import os
import uuid

from pyarrow import fs as _fs
from pyarrow._table import Table

_BEHAVIORS = ("overwrite_or_ignore", "error", "delete_matching")


def _call(method, args, table=None):
    from mage_ai.shared.kiln import close_fd, current, dataframe_fd

    if table is None:
        return current().call(method, args)
    fd = dataframe_fd(table.to_pandas())
    try:
        return current().call(method, args, [fd])
    finally:
        close_fd(fd)


def _refuse_kwargs(function, kwargs):
    if kwargs:
        raise TypeError("pyarrow.parquet.%s(%s) is not supported by Kiln's pyarrow stand-in"
                        % (function, ", ".join("%s=..." % k for k in sorted(kwargs))))


def _target(path, filesystem):
    """(scheme, "bucket/key" or an absolute local path, auth) for `path` on `filesystem`."""
    path = str(getattr(path, "__fspath__", lambda: path)())
    if filesystem is None or isinstance(filesystem, _fs.LocalFileSystem):
        if "://" in path:
            filesystem, path = _fs.FileSystem.from_uri(path)
        else:
            return "file", os.path.abspath(path), {}
    if not isinstance(filesystem, _fs.FileSystem):
        raise TypeError("filesystem=%r is not supported by Kiln's pyarrow stand-in (use "
                        "pyarrow.fs.GcsFileSystem, S3FileSystem or LocalFileSystem)"
                        % type(filesystem).__name__)
    if "://" in path:
        path = path.split("://", 1)[1]
    auth = filesystem.auth()
    if "adc" in auth:
        auth = dict(auth, adc=os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"))
    return filesystem.scheme, path.strip("/"), auth


def _check_table(table):
    if not isinstance(table, Table):
        raise TypeError("expected a pyarrow.Table (Table.from_pandas(df)), got %s"
                        % type(table).__name__)


def _compression(compression):
    if compression is None:
        return "uncompressed"
    return str(compression).lower()


def _pandas_version():
    import pandas as pd

    return pd.__version__


def write_to_dataset(table, root_path, partition_cols=None, filesystem=None,
                     basename_template=None, existing_data_behavior=None,
                     compression="snappy", **kwargs):
    """Writes `table` under `root_path` ("bucket/prefix" with a GCS/S3 file system, a gs:// or
    s3:// URI, or a local folder) as pyarrow does: Hive folders `col=value/` per partition
    column (NULL: __HIVE_DEFAULT_PARTITION__), the partition columns left out of the files,
    files named `<32 hex>-{i}.parquet` (basename_template), existing files kept
    (existing_data_behavior 'overwrite_or_ignore'; also 'error', 'delete_matching'). Each
    file appears whole or not at all."""
    _refuse_kwargs("write_to_dataset", kwargs)
    _check_table(table)
    behavior = existing_data_behavior or "overwrite_or_ignore"
    if behavior not in _BEHAVIORS:
        raise ValueError("existing_data_behavior must be one of %s, not %r"
                         % (", ".join(_BEHAVIORS), behavior))
    if basename_template is None:
        basename_template = uuid.uuid4().hex + "-{i}.parquet"
    elif "{i}" not in basename_template:
        raise ValueError("basename_template did not contain '{i}'")
    scheme, root, auth = _target(root_path, filesystem)
    _call("objects.write_dataset", {
        "scheme": scheme, "root": root, "partition_cols": [str(c) for c in partition_cols or []],
        "basename_template": basename_template, "existing_data_behavior": behavior,
        "compression": _compression(compression), "auth": auth,
        "pandas_version": _pandas_version()}, table)


def write_table(table, where, filesystem=None, compression="snappy", **kwargs):
    """Writes `table` as one Parquet object/file `where`, replacing it whole."""
    _refuse_kwargs("write_table", kwargs)
    _check_table(table)
    scheme, path, auth = _target(where, filesystem)
    args = {"scheme": scheme, "format": "parquet", "compression": _compression(compression),
            "auth": auth, "pandas_version": _pandas_version()}
    if scheme == "file":
        args.update(bucket="", key=path)
    else:
        bucket, _, key = path.partition("/")
        args.update(bucket=bucket, key=key)
    _call("objects.write_file", args, table)


def read_table(source, columns=None, filesystem=None, **kwargs):
    """The Parquet object/file `source` (or every .parquet under it: a dataset, its Hive
    partition columns included) as a Table; index and dtypes from pandas' metadata."""
    from mage_ai.shared.kiln import frame_value

    _refuse_kwargs("read_table", kwargs)
    scheme, path, auth = _target(source, filesystem)
    args = {"scheme": scheme, "format": "parquet", "auth": auth, "dataset_ok": True,
            "limit": 2 ** 62}
    if scheme == "file":
        args.update(bucket="", key=path)
    else:
        bucket, _, key = path.partition("/")
        args.update(bucket=bucket, key=key)
    if columns is not None:
        args["columns"] = [str(c) for c in columns]
    result, fds = _call("objects.read_table", args)
    return Table(frame_value(result, fds))

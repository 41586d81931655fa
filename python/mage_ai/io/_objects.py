"""What mage_ai.io.google_cloud_storage, mage_ai.io.s3 and Kiln's pyarrow stand-in share: the
format of an object from its key, the writer rules of FileIO, and the `objects.*` calls that
Kiln's runner serves with its native object stores (docs/design/cloud.md §9). Nothing here
talks to a cloud: the runner does, or, with `kiln run --local-cloud DIR`, uses folders."""

import os

from mage_ai.io.base import QUERY_ROW_LIMIT
from mage_ai.shared.kiln import close_fd, current, dataframe_fd, frame_value

SUPPORTED_FORMATS = ("csv", "json", "parquet")
_UNSUPPORTED = ("hdf5", "xml", "xls", "xlsx")


def file_format(object_key, format=None):
    """The format named by `format` (a FileFormat or str), else by the key's extension, as Mage's
    BaseFile._get_file_format. Raises ValueError for one Kiln cannot read or write."""
    if format is not None:
        fmt = str(getattr(format, "value", format)).lower()
    else:
        name = str(object_key).lower()
        for suffix in (".gz", ".zst"):
            if name.endswith(suffix):
                name = name[: -len(suffix)]
        fmt = os.path.splitext(name)[1].lstrip(".")
    if fmt == "jsonl":
        fmt = "json"
    if fmt in SUPPORTED_FORMATS:
        return fmt
    if fmt in _UNSUPPORTED:
        raise ValueError("format '%s' of '%s' is not supported by Kiln (csv, json, parquet)"
                         % (fmt, object_key))
    raise ValueError("cannot tell the format of '%s' from its extension; pass format= "
                     "(csv, json, parquet)" % object_key)


def google_auth_from_kwargs(kwargs):
    """Mage's GoogleCloudStorage/BigQuery keyword arguments as the runner's auth: a key mapping
    (credentials_mapping), a key file (path_to_credentials), or Application Default Credentials
    (the GOOGLE_APPLICATION_CREDENTIALS the block sees when it calls)."""
    if kwargs.get("credentials") is not None:
        raise TypeError("credentials=<google.auth Credentials> is not supported by Kiln: use "
                        "credentials_mapping= or path_to_credentials=")
    if kwargs.get("credentials_mapping") is not None:
        return {"key": kwargs["credentials_mapping"], "origin": "GOOGLE_SERVICE_ACC_KEY"}
    if kwargs.get("path_to_credentials") is not None:
        path = str(kwargs["path_to_credentials"])
        return {"key_file": path, "origin": "GOOGLE_SERVICE_ACC_KEY_FILEPATH " + path}
    return {"adc": None, "origin": "Application Default Credentials"}


def resolve_auth(auth):
    """`auth` with ADC's file read from the environment now (the block may set it late)."""
    if auth is not None and "adc" in auth:
        auth = dict(auth, adc=os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"))
    return auth or {}


def missing_credentials(message):
    """Mage's with_config found no credentials. With --local-cloud the runner logs a warning
    and this returns; otherwise raises ValueError(message + which keys and which switch)."""
    from kiln_runtime.channel import RunnerError

    try:
        current().call("objects.missing_credentials", {"message": message})
    except RunnerError as e:
        text = str(e)
        prefix = "objects.missing_credentials: "
        raise ValueError(text[len(prefix):] if text.startswith(prefix) else text) from None


def _pandas_version():
    import pandas as pd

    return pd.__version__


class ObjectClient:
    """load / export / exists of one scheme ("gs", "s3") with fixed credentials."""

    scheme = "gs"
    missing_ok = False  # GCS: a missing object loads as an empty DataFrame

    def __init__(self, auth=None, verbose=True):
        self._auth = auth
        self.verbose = verbose

    def _print(self, message):
        if self.verbose:
            print(message)

    def load(self, bucket_name, object_key, format=None, limit=QUERY_ROW_LIMIT, **kwargs):
        import pandas as pd

        fmt = file_format(object_key, format)
        self._print("Loading data frame from bucket '%s' at key '%s'..." % (bucket_name,
                                                                             object_key))
        result, fds = current().call("objects.load", {
            "scheme": self.scheme, "bucket": str(bucket_name), "key": str(object_key),
            "format": fmt, "limit": int(limit), "auth": resolve_auth(self._auth),
            "missing_ok": self.missing_ok})
        if result.get("missing"):
            return pd.DataFrame()
        return frame_value(result, fds)

    def export(self, df, bucket_name, object_key, format=None, **kwargs):
        """Writes `df` (a DataFrame, or a str naming a file uploaded as it is) to the object."""
        import pandas as pd

        args = {"scheme": self.scheme, "bucket": str(bucket_name), "key": str(object_key),
                "auth": resolve_auth(self._auth)}
        self._print("Exporting data frame to bucket '%s' at key '%s'..." % (bucket_name,
                                                                            object_key))
        if isinstance(df, (str, os.PathLike)):
            args["path"] = os.path.abspath(str(df))
            result, _ = current().call("objects.export", args)
            return None
        fmt = file_format(object_key, format)
        if isinstance(df, dict):
            df = pd.DataFrame([df])
        elif isinstance(df, list):
            df = pd.DataFrame(df)
        if fmt == "csv" and not isinstance(df.index, pd.RangeIndex):
            df = df.reset_index()  # pandas' to_csv writes the index: as FileIO.export
        args.update(format=fmt, pandas_version=_pandas_version())
        fd = dataframe_fd(df)
        try:
            current().call("objects.export", args, [fd])
        finally:
            close_fd(fd)
        return None

    def _exists(self, bucket_name, key_or_prefix, prefix_match):
        result, _ = current().call("objects.exists", {
            "scheme": self.scheme, "bucket": str(bucket_name), "key_or_prefix": str(key_or_prefix),
            "prefix_match": prefix_match, "auth": resolve_auth(self._auth)})
        return bool(result.get("exists"))

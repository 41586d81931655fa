"""mage_ai.io.file.FileIO: local files, read and written by Kiln's DuckDB (csv, parquet, json)."""

import os

from mage_ai.io.base import QUERY_ROW_LIMIT, BaseFile
from mage_ai.shared.kiln import close_fd, current, dataframe_fd, frame_value


def _format(filepath, format):
    if format:
        return str(format).lower()
    name = str(filepath).lower()
    for suffix in (".gz", ".zst"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return os.path.splitext(name)[1].lstrip(".") or "csv"


class FileIO(BaseFile):
    def load(self, filepath=None, format=None, limit=QUERY_ROW_LIMIT, file_directories=None,
             **kwargs):
        """A CSV, Parquet or JSON file (or every such file of `file_directories`) as a DataFrame."""
        paths = [filepath] if filepath else []
        for directory in file_directories or []:
            for name in sorted(os.listdir(directory)):
                paths.append(os.path.join(directory, name))
        result, fds = current().call("file.load", {
            "paths": [os.path.abspath(str(p)) for p in paths],
            "format": _format(paths[0], format) if paths else "csv", "limit": int(limit)})
        return frame_value(result, fds)

    def export(self, df, filepath, format=None, **kwargs):
        """Writes `df` to `filepath` (csv, parquet or json by extension), keeping the index as
        pandas' to_csv does for CSV."""
        import pandas as pd

        if isinstance(df, str):  # a file to copy, as Mage allows
            df = self.load(df)
        fmt = _format(filepath, format)
        if fmt == "csv" and not isinstance(df.index, pd.RangeIndex):
            df = df.reset_index()
        fd = dataframe_fd(df)
        try:
            current().call("file.export", {"path": os.path.abspath(str(filepath)), "format": fmt},
                           [fd])
        finally:
            close_fd(fd)

    def exists(self, filepath):
        return os.path.exists(filepath)

"""What every Mage IO connector shares (mage_ai/io/base.py)."""

from enum import Enum

QUERY_ROW_LIMIT = 10_000_000


class ExportWritePolicy:
    APPEND = "append"
    FAIL = "fail"
    REPLACE = "replace"


class FileFormat(str, Enum):
    """Formats of files and objects; Kiln reads and writes csv, json and parquet."""
    CSV = "csv"
    JSON = "json"
    PARQUET = "parquet"
    HDF5 = "hdf5"
    XML = "xml"
    XLSX = "xlsx"


class DataSource:
    BIGQUERY = "bigquery"
    DUCKDB = "duckdb"
    POSTGRES = "postgres"


class BaseIO:
    def __init__(self, verbose=True, **kwargs):
        self.verbose = verbose

    def _print(self, message):
        if self.verbose:
            print(message)


class BaseFile(BaseIO):
    pass

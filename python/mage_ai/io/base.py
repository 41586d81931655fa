"""What every Mage IO connector shares (mage_ai/io/base.py)."""

QUERY_ROW_LIMIT = 10_000_000


class ExportWritePolicy:
    APPEND = "append"
    FAIL = "fail"
    REPLACE = "replace"


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

"""mage_ai.io.bigquery.BigQuery on Kiln's BigQuery connector (docs/design/cloud.md §1, §9).

Every call goes to the runner (bigquery.* calls), which talks to BigQuery's REST API or, with
--local-cloud, to its DuckDB stand-in: exports are load jobs of a Parquet file written from the
DataFrame's buffers, loads read the query's rows into a DataFrame. There is no google-cloud client
object: `client` raises AttributeError saying what Kiln offers."""

import json
import os

from mage_ai.io.base import QUERY_ROW_LIMIT, BaseIO
from mage_ai.io.config import ConfigKey
from mage_ai.shared.kiln import close_fd, current, dataframe_fd, frame_value

_NO_CONFIG = ("No valid configuration settings found for Google BigQuery. You must specify "
              "either your service account key or the filepath to your service account key.")
_OFFERED = ("with_config, with_credentials_file, with_credentials_object, load, export, execute, "
            "execute_queries, default_database")


class BigQuery(BaseIO):
    """BigQuery(credentials_mapping=None, path_to_credentials=None, location=None, project=None).

    Credentials as Mage takes them: a service-account key mapping, a key file (it wins when both
    are given), else Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS)."""

    def __init__(self, **kwargs):
        kwargs.pop("verbose", None)  # Mage drops it too: its messages are always printed
        super().__init__(verbose=True)
        if kwargs.pop("credentials", None) is not None:
            raise TypeError("BigQuery(credentials=...): google.oauth2 credential objects are not "
                            "supported by Kiln; pass credentials_mapping= or "
                            "path_to_credentials=")
        mapping = kwargs.pop("credentials_mapping", None)
        path = kwargs.pop("path_to_credentials", None)
        missing = kwargs.pop("_kiln_missing_credentials", False)
        if missing:  # with_config found no key: fine only in Kiln's local stand-in
            self._auth = {"missing": True}
        elif path is not None:
            self._auth = {"key_file": os.fspath(path)}
        elif mapping is not None:
            if isinstance(mapping, str):
                mapping = json.loads(mapping)
            self._auth = {"key": dict(mapping)}
        else:
            self._auth = {"adc": os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")}
        self.location = kwargs.pop("location", None)
        self.project = kwargs.pop("project", None)
        try:
            result, _ = self._call("bigquery.open", {})
        except Exception:
            if missing:
                raise ValueError(_NO_CONFIG) from None
            raise
        self.project = result.get("project") or self.project

    @classmethod
    def with_config(cls, config, **kwargs):
        """From an io_config.yaml profile: GOOGLE_SERVICE_ACC_KEY present wins (empty: ADC),
        else GOOGLE_SERVICE_ACC_KEY_FILEPATH, else Mage's ValueError (with --local-cloud only a
        warning: the stand-in needs no key); GOOGLE_LOCATION -> location."""
        if ConfigKey.GOOGLE_SERVICE_ACC_KEY in config:
            kwargs["credentials_mapping"] = config[ConfigKey.GOOGLE_SERVICE_ACC_KEY]
        elif ConfigKey.GOOGLE_SERVICE_ACC_KEY_FILEPATH in config:
            kwargs["path_to_credentials"] = config[ConfigKey.GOOGLE_SERVICE_ACC_KEY_FILEPATH]
        else:
            kwargs["_kiln_missing_credentials"] = True  # Mage's ValueError unless local
        if ConfigKey.GOOGLE_LOCATION in config:
            kwargs["location"] = config[ConfigKey.GOOGLE_LOCATION]
        return cls(**kwargs)

    @classmethod
    def with_credentials_file(cls, path_to_credentials, **kwargs):
        return cls(path_to_credentials=path_to_credentials, **kwargs)

    @classmethod
    def with_credentials_object(cls, credentials, **kwargs):
        return cls(credentials_mapping=credentials, **kwargs)

    @property
    def client(self):
        raise AttributeError("BigQuery.client: Kiln has no google-cloud-bigquery client; it "
                             "offers " + _OFFERED)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def _call(self, method, args, fds=()):
        call = dict(args, auth=self._auth, location=self.location, project=self.project)
        return current().call(method, call, fds)

    def default_database(self):
        return self.project

    # -- queries --------------------------------------------------------------------------
    def load(self, query_string, limit=QUERY_ROW_LIMIT, display_query=None, verbose=True,
             **kwargs):
        """At most `limit` rows of `query_string` as a DataFrame (Mage wraps the query as
        SELECT * FROM (<query>) AS subquery LIMIT n)."""
        if verbose:
            self._print("Loading data with query\n%s" % (display_query or query_string))
        result, fds = self._call("bigquery.load", {"query": query_string, "limit": int(limit)})
        return frame_value(result, fds)

    def execute(self, query_string, **kwargs):
        """Runs `query_string` as one query job and waits for it."""
        self._print("Executing query '%s'" % query_string)
        self._call("bigquery.execute", {"query": query_string})

    def execute_queries(self, queries, query_variables=None, fetch_query_at_indexes=None,
                        **kwargs):
        results = []
        for idx, query in enumerate(queries):
            fetch = bool(fetch_query_at_indexes and idx < len(fetch_query_at_indexes)
                         and fetch_query_at_indexes[idx])
            if fetch:
                results.append(self.load(query, verbose=False))
            else:
                self._call("bigquery.execute", {"query": query})
                results.append(None)
        return results

    def export(self, df, table_id=None, database=None, if_exists="replace",
               overwrite_types=None, query_string=None, verbose=True, **configuration_params):
        """Writes `df` to `table_id` ("dataset.table" or "project.dataset.table") with one load
        job: the dataset is created when missing, spaces in column names become '_', and
        if_exists replace/append/fail is WRITE_TRUNCATE/WRITE_APPEND/WRITE_EMPTY (a
        write_disposition keyword wins). With query_string, its result is written instead."""
        import pandas as pd

        if table_id is None:
            raise Exception("Please provide a table_id argument in the export method.")
        if overwrite_types is not None:
            raise NotImplementedError("export(overwrite_types=...) is not supported by Kiln yet")
        args = {"table_id": table_id, "database": database, "if_exists": if_exists}
        disposition = configuration_params.get("write_disposition")
        if disposition is not None:
            args["write_disposition"] = str(getattr(disposition, "value", disposition))
        if verbose:
            self._print("Exporting data to table '%s'" % table_id)
        if query_string:
            args["query_string"] = query_string
            result, _ = self._call("bigquery.export", args)
            return result
        if isinstance(df, dict):
            df = pd.DataFrame([df])
        elif isinstance(df, list):
            df = pd.DataFrame(df)
        fd = dataframe_fd(df)
        try:
            result, _ = self._call("bigquery.export", args, [fd])
        finally:
            close_fd(fd)
        return result

"""mage_ai.io.postgres.Postgres, on Kiln's native PostgreSQL connector: exports are binary COPY
from the DataFrame's buffers (no to_csv), loads are binary COPY into a DataFrame."""

from mage_ai.io.base import QUERY_ROW_LIMIT, BaseIO
from mage_ai.io.config import ConfigKey
from mage_ai.shared.kiln import close_fd, current, dataframe_fd, frame_value


class Postgres(BaseIO):
    """Postgres(dbname, user, password, host, port, schema=None, connect_timeout=None, ...).

    Use it as a context manager (`with Postgres.with_config(config) as loader:`); outside one,
    each call opens and closes its own connection. export() commits; execute() does not (call
    commit())."""

    def __init__(self, dbname=None, user=None, password=None, host=None, port=None, schema=None,
                 connection_method="direct", connect_timeout=None, verbose=True, **kwargs):
        super().__init__(verbose=verbose)
        if connection_method not in (None, "direct"):
            raise ValueError("connection_method %r is not supported by Kiln yet" % connection_method)
        self.settings = {"dbname": dbname, "user": user, "password": password, "host": host,
                         "port": port, "schema": schema, "connect_timeout": connect_timeout}
        self._connection = None

    @classmethod
    def with_config(cls, config, **kwargs):
        return cls(dbname=config[ConfigKey.POSTGRES_DBNAME], user=config[ConfigKey.POSTGRES_USER],
                   password=config[ConfigKey.POSTGRES_PASSWORD],
                   host=config[ConfigKey.POSTGRES_HOST], port=config[ConfigKey.POSTGRES_PORT],
                   schema=config[ConfigKey.POSTGRES_SCHEMA],
                   connection_method=config[ConfigKey.POSTGRES_CONNECTION_METHOD] or "direct",
                   connect_timeout=config[ConfigKey.POSTGRES_CONNECT_TIMEOUT], **kwargs)

    # -- connection -----------------------------------------------------------------------
    def open(self):
        if self._connection is None:
            result, _ = current().call("postgres.open", {"settings": self.settings})
            self._connection = result["connection"]

    def close(self):
        if self._connection is not None:
            current().call("postgres.close", {"connection": self._connection})
            self._connection = None

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc):
        self.close()

    def _run(self, method, args, fds=()):
        opened_here = self._connection is None
        self.open()
        try:
            return current().call(method, dict(args, connection=self._connection), fds)
        finally:
            if opened_here:
                self.close()

    def default_schema(self):
        return self.settings.get("schema") or "public"

    def default_database(self):
        return self.settings.get("dbname")

    # -- queries --------------------------------------------------------------------------
    def execute(self, query_string, **kwargs):
        """Runs a statement in the connection's open transaction (commit() makes it stay)."""
        self._run("postgres.execute", {"sql": query_string})

    def commit(self):
        self._run("postgres.execute", {"sql": "COMMIT", "commit": True})

    def rollback(self):
        self._run("postgres.execute", {"sql": "ROLLBACK", "rollback": True})

    def load(self, query_string, limit=QUERY_ROW_LIMIT, display_query=None, verbose=True,
             **kwargs):
        """The rows of `query_string` (a SELECT) as a DataFrame, at most `limit` of them."""
        query = query_string.strip().rstrip(";")
        wrapped = "WITH subquery AS (%s) SELECT * FROM subquery LIMIT %d" % (query, int(limit))
        result, fds = self._run("postgres.load", {"query": wrapped})
        return frame_value(result, fds)

    def sample(self, schema, table, size=10000, **kwargs):
        return self.load('SELECT * FROM "%s"."%s"' % (schema, table), limit=size)

    def export(self, df, schema_name=None, table_name=None, if_exists="replace", index=False,
               verbose=True, allow_reserved_words=False, auto_clean_name=True,
               case_sensitive=False, cascade_on_drop=False, drop_table_on_replace=False,
               overwrite_types=None, query_string=None, unique_conflict_method=None,
               unique_constraints=None, **kwargs):
        """Writes `df` into schema_name.table_name by binary COPY: replace (the default, in one
        transaction: readers see the old rows or the new), append, or fail; column names cleaned
        as Mage does unless auto_clean_name=False. With query_string, its result is written."""
        import pandas as pd

        if table_name is None:
            raise ValueError("Please provide a table_name argument in the export method.")
        schema = schema_name or self.default_schema()
        args = {"schema": schema, "table": table_name, "if_exists": if_exists,
                "auto_clean_name": bool(auto_clean_name),
                "allow_reserved_words": bool(allow_reserved_words)}
        if query_string is not None:
            args["query"] = query_string
            result, _ = self._run("postgres.export", args)
        else:
            if isinstance(df, dict):
                df = pd.DataFrame([df])
            elif isinstance(df, list):
                df = pd.DataFrame(df)
            if index:
                df = df.reset_index()
            fd = dataframe_fd(df)
            try:
                result, _ = self._run("postgres.export", args, [fd])
            finally:
                close_fd(fd)
        if verbose and self.verbose:
            print("Exported %s rows to %s.%s (%s)." % (result.get("rows"), schema, table_name,
                                                        if_exists))
        return result

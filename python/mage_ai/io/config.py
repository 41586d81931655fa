"""io_config.yaml profiles (Mage's mage_ai/io/config.py). The file is read by Kiln's runner
with the same rules as SQL blocks use (templates rendered first, flat and verbose formats,
.env files), so a Python block and a SQL block see the same settings."""

import os
from enum import Enum

from mage_ai.settings.repo import get_repo_path
from mage_ai.shared.kiln import current


class ConfigKey(str, Enum):
    AWS_ACCESS_KEY_ID = "AWS_ACCESS_KEY_ID"
    AWS_ENDPOINT = "AWS_ENDPOINT"
    AWS_REGION = "AWS_REGION"
    AWS_SECRET_ACCESS_KEY = "AWS_SECRET_ACCESS_KEY"
    AWS_SESSION_TOKEN = "AWS_SESSION_TOKEN"
    DUCKDB_DATABASE = "DUCKDB_DATABASE"
    DUCKDB_SCHEMA = "DUCKDB_SCHEMA"
    GOOGLE_LOCATION = "GOOGLE_LOCATION"
    GOOGLE_SERVICE_ACC_KEY = "GOOGLE_SERVICE_ACC_KEY"
    GOOGLE_SERVICE_ACC_KEY_FILEPATH = "GOOGLE_SERVICE_ACC_KEY_FILEPATH"
    POSTGRES_CONNECT_TIMEOUT = "POSTGRES_CONNECT_TIMEOUT"
    POSTGRES_CONNECTION_METHOD = "POSTGRES_CONNECTION_METHOD"
    POSTGRES_DBNAME = "POSTGRES_DBNAME"
    POSTGRES_HOST = "POSTGRES_HOST"
    POSTGRES_PASSWORD = "POSTGRES_PASSWORD"
    POSTGRES_PORT = "POSTGRES_PORT"
    POSTGRES_SCHEMA = "POSTGRES_SCHEMA"
    POSTGRES_USER = "POSTGRES_USER"


def _key(key):
    return key.value if isinstance(key, Enum) else str(key)


class BaseConfigLoader:
    def __contains__(self, key):
        raise NotImplementedError

    def __getitem__(self, key):
        return self.get(key)

    def get(self, key, **kwargs):
        raise NotImplementedError


class ConfigFileLoader(BaseConfigLoader):
    """ConfigFileLoader(filepath=None, profile='default', config=None): one profile's settings.
    A missing key gives None (as Mage); a missing profile raises KeyError naming it."""

    def __init__(self, filepath=None, profile="default", config=None):
        if config is not None:
            self.config = dict(config)
            return
        path = filepath or os.path.join(get_repo_path(), "io_config.yaml")
        result, _ = current().call("io_config.profile", {"path": str(path), "profile": profile})
        if result.get("missing_profile"):
            raise KeyError("%s: no profile '%s'" % (path, profile))
        self.config = result.get("values") or {}

    def __contains__(self, key):
        return _key(key) in self.config

    def get(self, key, **kwargs):
        return self.config.get(_key(key))


class EnvironmentVariableLoader(BaseConfigLoader):
    def __contains__(self, key):
        return _key(key) in os.environ

    def get(self, key, **kwargs):
        return os.environ.get(_key(key))

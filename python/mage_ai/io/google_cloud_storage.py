"""mage_ai.io.google_cloud_storage.GoogleCloudStorage, served by Kiln's GCS store (or, with
`kiln run --local-cloud DIR`, by folders DIR/<bucket>/<key>). No google-cloud package is used."""

from mage_ai.io._objects import (ObjectClient, google_auth_from_kwargs, missing_credentials)
from mage_ai.io.base import QUERY_ROW_LIMIT, BaseFile
from mage_ai.io.config import ConfigKey

_NO_CONFIG = ("No valid configuration settings found for Google Cloud Storage. You must specify "
              "either your service account key or the filepath to your service account key.")


class GoogleCloudStorage(BaseFile):
    """GoogleCloudStorage(verbose=True, credentials_mapping=None, path_to_credentials=None).

    Without credentials, Application Default Credentials are used (GOOGLE_APPLICATION_CREDENTIALS
    as the block sees it when it calls). load() of a missing object returns an empty DataFrame,
    as Mage; a missing bucket raises."""

    def __init__(self, verbose=False, **kwargs):
        super().__init__(verbose=True)  # Mage reads kwargs.get('verbose', True): always True
        self._client = ObjectClient(google_auth_from_kwargs(kwargs), verbose=self.verbose)
        self._client.scheme = "gs"
        self._client.missing_ok = True

    @classmethod
    def with_config(cls, config, **kwargs):
        """GOOGLE_SERVICE_ACC_KEY present wins (null: Application Default Credentials), else
        GOOGLE_SERVICE_ACC_KEY_FILEPATH, else ValueError (with --local-cloud: a warning)."""
        if ConfigKey.GOOGLE_SERVICE_ACC_KEY in config:
            kwargs["credentials_mapping"] = config[ConfigKey.GOOGLE_SERVICE_ACC_KEY]
        elif ConfigKey.GOOGLE_SERVICE_ACC_KEY_FILEPATH in config:
            kwargs["path_to_credentials"] = config[ConfigKey.GOOGLE_SERVICE_ACC_KEY_FILEPATH]
        else:
            missing_credentials(_NO_CONFIG)
        return cls(**kwargs)

    def load(self, bucket_name, object_key, format=None, limit=QUERY_ROW_LIMIT, **kwargs):
        """The object as a DataFrame (csv, json or parquet, from the key's extension unless
        `format` says), at most `limit` rows; an empty DataFrame when the object is missing."""
        return self._client.load(bucket_name, object_key, format=format, limit=limit, **kwargs)

    def export(self, df, bucket_name, object_key, format=None, **kwargs):
        """Writes `df` to the object (Parquet keeps the index and dtypes through pandas'
        metadata, timestamps in ms; CSV writes a non-default index as columns); a str is a file
        uploaded as it is. The object appears whole or not at all."""
        return self._client.export(df, bucket_name, object_key, format=format, **kwargs)

    def exists(self, bucket_name, prefix):
        """Whether the object named exactly `prefix` exists (Mage's blob.exists())."""
        return self._client._exists(bucket_name, prefix, prefix_match=False)

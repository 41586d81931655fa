"""mage_ai.io.s3.S3, served by Kiln's S3 store (or, with `kiln run --local-cloud DIR`, by
folders DIR/<bucket>/<key>). No boto3 is used: the runner signs its own requests."""

from mage_ai.io._objects import ObjectClient
from mage_ai.io.base import QUERY_ROW_LIMIT, BaseFile
from mage_ai.io.config import ConfigKey

_BOTO3_KWARGS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token",
                 "region_name", "endpoint_url")


class S3(BaseFile):
    """S3(verbose=False, aws_access_key_id=None, aws_secret_access_key=None,
    aws_session_token=None, region_name=None, endpoint_url=None), boto3.client's keywords.

    Missing keys fall back as boto3 does (environment, ~/.aws/credentials). Unlike
    GoogleCloudStorage, load() of a missing key raises, as Mage."""

    def __init__(self, verbose=False, **kwargs):
        super().__init__(verbose=True)  # Mage reads kwargs.get('verbose', True): always True
        kwargs.pop("verbose", None)
        unknown = sorted(k for k in kwargs if k not in _BOTO3_KWARGS + ("config",))
        if unknown:
            raise TypeError("S3() got keyword arguments Kiln does not support: %s (it takes %s)"
                            % (", ".join(unknown), ", ".join(_BOTO3_KWARGS)))
        auth = {k: kwargs.get(k) for k in _BOTO3_KWARGS if kwargs.get(k) is not None}
        auth["origin"] = "the S3 credentials (io_config.yaml AWS_* keys or S3() arguments)"
        self._client = ObjectClient(auth, verbose=self.verbose)
        self._client.scheme = "s3"
        self._client.missing_ok = False

    @classmethod
    def with_config(cls, config, **kwargs):
        """AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION and
        AWS_ENDPOINT of the profile as boto3's keywords (absent ones are None)."""
        return cls(aws_access_key_id=config[ConfigKey.AWS_ACCESS_KEY_ID],
                   aws_secret_access_key=config[ConfigKey.AWS_SECRET_ACCESS_KEY],
                   aws_session_token=config[ConfigKey.AWS_SESSION_TOKEN],
                   region_name=config[ConfigKey.AWS_REGION],
                   endpoint_url=config[ConfigKey.AWS_ENDPOINT], **kwargs)

    def load(self, bucket_name, object_key, format=None, limit=QUERY_ROW_LIMIT, **kwargs):
        """The object as a DataFrame (csv, json or parquet, from the key's extension unless
        `format` says), at most `limit` rows. Raises RunnerError naming the bucket and key when
        the object does not exist."""
        return self._client.load(bucket_name, object_key, format=format, limit=limit, **kwargs)

    def export(self, df, bucket_name, object_key, format=None, **kwargs):
        """Writes `df` to the object as GoogleCloudStorage.export does; a str is a file."""
        return self._client.export(df, bucket_name, object_key, format=format, **kwargs)

    def exists(self, bucket_name, prefix):
        """Whether any object's key starts with `prefix` (Mage: list_objects, MaxKeys=1)."""
        return self._client._exists(bucket_name, prefix, prefix_match=True)

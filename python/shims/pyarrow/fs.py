"""pyarrow.fs in Kiln's stand-in: file systems as descriptors (a scheme and credentials) that
pyarrow.parquet hands to Kiln's runner, which reaches the store (or, with --local-cloud DIR,
the folder DIR/<bucket>). An argument Kiln cannot honour raises TypeError naming it."""

import os


def _refuse(cls, **given):
    for name, value in given.items():
        if value is not None:
            raise TypeError("%s(%s=...) is not supported by Kiln's pyarrow stand-in"
                            % (cls, name))


class FileSystem:
    scheme = "file"

    def auth(self):
        return {}

    @staticmethod
    def from_uri(uri):
        """(file system, path) for gs://bucket/path, s3://bucket/path or a local path."""
        text = str(uri)
        if text.startswith("gs://") or text.startswith("gcs://"):
            return GcsFileSystem(), text.split("://", 1)[1]
        if text.startswith("s3://"):
            return S3FileSystem(), text.split("://", 1)[1]
        if text.startswith("file://"):
            text = text[len("file://"):]
        return LocalFileSystem(), os.path.abspath(text)

    def __repr__(self):
        return "<pyarrow.fs.%s (Kiln stand-in)>" % type(self).__name__


class GcsFileSystem(FileSystem):
    """Google Cloud Storage with Application Default Credentials: the key file named by
    GOOGLE_APPLICATION_CREDENTIALS when the data is written, else gcloud's."""

    scheme = "gs"

    def __init__(self, anonymous=False, access_token=None, target_service_account=None,
                 credential_token_expiration=None, default_bucket_location="US", scheme=None,
                 endpoint_override=None, default_metadata=None, retry_time_limit=None,
                 project_id=None):
        _refuse("GcsFileSystem", anonymous=anonymous or None, access_token=access_token,
                target_service_account=target_service_account,
                credential_token_expiration=credential_token_expiration, scheme=scheme,
                endpoint_override=endpoint_override, default_metadata=default_metadata)

    def auth(self):
        return {"adc": None, "origin": "Application Default Credentials (pyarrow GcsFileSystem)"}


class S3FileSystem(FileSystem):
    """S3 with the given keys, else boto3's fallbacks (environment, ~/.aws/credentials)."""

    scheme = "s3"

    def __init__(self, access_key=None, secret_key=None, session_token=None, region=None,
                 endpoint_override=None, scheme=None):
        endpoint = endpoint_override
        if endpoint and scheme and "://" not in endpoint:
            endpoint = "%s://%s" % (scheme, endpoint)
        self._auth = {k: v for k, v in (("aws_access_key_id", access_key),
                                        ("aws_secret_access_key", secret_key),
                                        ("aws_session_token", session_token),
                                        ("region_name", region),
                                        ("endpoint_url", endpoint)) if v is not None}
        self._auth["origin"] = "pyarrow S3FileSystem"

    def auth(self):
        return dict(self._auth)


class LocalFileSystem(FileSystem):
    scheme = "file"

    def __init__(self, use_mmap=False):
        pass

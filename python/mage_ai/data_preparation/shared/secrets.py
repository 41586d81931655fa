"""Secrets. Kiln has no secret store yet: a secret is an environment variable (the process's,
or one from the project's .env)."""

import os
import warnings


def get_secret_value(name, entity=None, project_uuid=None, repo_name=None, suppress_warning=False,
                     **kwargs):
    value = os.environ.get(name)
    if value is None and not suppress_warning:
        warnings.warn("secret %s is not set (Kiln reads secrets from the environment)" % name)
    return value

"""Where the project (Mage's "repo") is."""

import os


def get_repo_path(*args, **kwargs):
    """The project folder of the running block (MAGE_RUNTIME__REPO_PATH), else MAGE_REPO_PATH,
    else the working directory, as Mage resolves it."""
    return (os.environ.get("MAGE_RUNTIME__REPO_PATH") or os.environ.get("MAGE_REPO_PATH")
            or os.getcwd())


def set_repo_path(path):
    os.environ["MAGE_REPO_PATH"] = str(path)


def get_repo_name(*args, **kwargs):
    return os.path.basename(os.path.normpath(get_repo_path()))

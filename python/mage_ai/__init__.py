"""Kiln's mage_ai: the parts of Mage's Python API that block files import, so that Mage
projects run unchanged. Data moves through Kiln's native connectors (kiln_runtime.channel)."""

import sys as _sys


class _MissingPartFinder:
    """Last on sys.meta_path: a `mage_ai.*` module that Kiln does not provide fails with a
    message saying so (instead of a bare "No module named ..."), naming the docs."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.startswith("mage_ai."):
            raise ModuleNotFoundError(
                "No module named '%s': Kiln's mage_ai does not provide it yet (see "
                "docs/python-blocks.md, 'The mage_ai package')" % name, name=name)
        return None


if not any(isinstance(f, _MissingPartFinder) for f in _sys.meta_path):
    _sys.meta_path.append(_MissingPartFinder())

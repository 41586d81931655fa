from mage_ai.io.base import ExportWritePolicy  # noqa: F401  (Mage exposes it here too)

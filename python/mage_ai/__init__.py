"""Kiln's mage_ai: the parts of Mage's Python API that block files import, so that Mage
projects run unchanged. Data moves through Kiln's native connectors (kiln_runtime.channel)."""

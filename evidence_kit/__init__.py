"""evidence-kit: collect, verify and compare evidence bundles for Python services."""

__version__ = "0.1.0"

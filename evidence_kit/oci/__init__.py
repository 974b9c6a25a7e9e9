"""Bundles in OCI registries: references, authentication, a distribution-spec client, push, pull, list, cache.

Layout of a pushed bundle (an OCI 1.1 artifact, `artifact.py`): an image manifest whose
`artifactType` is `application/vnd.evidence-kit.bundle.v1`, whose config is the empty descriptor,
and whose two layers are the bundle's `manifest.json` and its deterministic `.tar.gz`; annotations
carry the bundle's facts. Signatures (DSSE envelopes) and in-toto statements are artifacts whose
`subject` is the bundle's manifest, found by the referrers API or its tag fallback.
"""

"""Testing support shipped with the harness: the plugin conformance kit, and helpers for tests.

``pytest --pyargs harness.testing.conformance --harness-framework NAME`` runs the contract tests
(:mod:`harness.testing.conformance`) against an installed framework plugin; the small networks
it builds are in :mod:`harness.testing.networks`. Tests of the harness and of its plugins write
networks inline and run every shipped spec with :mod:`harness.testing.specs`, and check layers
against loops written out by hand in :mod:`harness.testing.loops`.
"""

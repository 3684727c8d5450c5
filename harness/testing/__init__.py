"""Testing support shipped with the harness: the plugin conformance kit.

``pytest --pyargs harness.testing.conformance --harness-framework NAME`` runs the contract tests
(:mod:`harness.testing.conformance`) against an installed framework plugin; the small networks
it builds are in :mod:`harness.testing.networks`.
"""

"""Benchmark harness: fan-out, connection, latency and memory figures.

See bench/README.md.  Nothing in here is imported by the application or the
test-suite; timing-sensitive code lives only in this package.
"""

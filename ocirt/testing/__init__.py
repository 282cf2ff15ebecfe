"""Helpers for tests, benchmarks and the demo: build busybox bundles any runtime can run."""

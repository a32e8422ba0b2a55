"""Schemathesis over assets and asset authorisation (the checks and the machinery: ``tests/support/fuzz.py``)."""

from support.fuzz import fuzz_tests

PART = "assets"

test_openapi_operations, test_the_fuzzer_signed_everything_and_reached_devices = fuzz_tests(PART)

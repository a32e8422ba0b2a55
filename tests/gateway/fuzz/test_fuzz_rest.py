"""Schemathesis over every area the other parts do not name: the timers, and any new area (the checks and the
machinery: ``tests/support/fuzz.py``)."""

from support.fuzz import fuzz_tests

PART = "rest"

test_openapi_operations, test_the_fuzzer_signed_everything_and_reached_devices = fuzz_tests(PART)

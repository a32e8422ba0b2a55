"""Schemathesis over the smart-home device operations, things (v2.0), smart-home pairing and app users (the checks and
the machinery: ``tests/support/fuzz.py``)."""

from support.fuzz import fuzz_tests

PART = "smarthome"

test_openapi_operations, test_the_fuzzer_signed_everything_and_reached_devices = fuzz_tests(PART)

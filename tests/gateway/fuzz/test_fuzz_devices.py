"""Schemathesis over the industry device operations, their logs, categories, tokens, the MQTT open hub and camera
streams (the checks and the machinery: ``tests/support/fuzz.py``)."""

from support.fuzz import fuzz_tests

PART = "devices"

test_openapi_operations, test_the_fuzzer_signed_everything_and_reached_devices = fuzz_tests(PART)

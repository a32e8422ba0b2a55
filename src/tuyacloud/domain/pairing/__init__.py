"""Tokens a device redeems to join the cloud: registration into an asset, pairing into a home."""

"""Media the cloud serves itself: the live stream of virtual cameras (HLS of a generated test picture)."""

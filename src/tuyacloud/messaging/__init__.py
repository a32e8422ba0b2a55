"""The message service: Pulsar-WebSocket delivery (``hub.py``, ``websocket.py``), the MQTT open hub (``mqtt/``) and
what the faces show of them (``status.py``)."""

# A project's two topics, ``out/event`` and ``out/event-test``: here rather than in hub.py, so that ``status.py``
# (``tuyacloud messages status``) reads them without importing the hub and its ciphers.
ENVS = ("event", "event-test")

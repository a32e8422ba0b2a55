"""The rules of the cloud, by subject; no web framework, SQL, websockets or MQTT here (docs/architecture.md).

Packages, each importing only those before it: ``access`` (who may call and what they see), ``industry`` (assets,
project users, their grants), ``devices``, ``projects``, ``smarthome`` (apps, homes, sharing), ``pairing``
(registration and pairing tokens), ``rules`` (scenes, automations, timers). ``context`` is below them all;
``bootstrap`` and ``console_views`` compose them.
"""

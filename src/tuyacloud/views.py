"""Admin views of records, shared by the CLI's JSON output and the control API (not the Tuya OpenAPI shapes,
which live in gateway/serialize.py)."""

from __future__ import annotations

from typing import Any

from tuyacloud.models import Project


def project_view(p: Project) -> dict[str, Any]:
    """A project with its credentials, for its administrators."""
    return {
        "access_id": p.access_id, "access_secret": p.access_secret, "name": p.name, "description": p.description,
        "region": p.region, "method": p.method, "industry": p.industry, "uid": p.uid, "create_time": p.created_ms,
        "allowlist_enabled": p.allowlist_enabled, "allowlist": p.allowlist, "services": p.services,
        "message_encryption": p.message_encryption, "legacy_signing": p.legacy_signing,
    }

"""The options every store-opening command shares (``--data-dir``, ``--database-url``, ``--json``) and the settings
they make. Kept apart from cli/common.py so that the root command, which declares them for ``serve``, loads neither
the store nor the domain nor rich: ``tuyacloud --version`` and ``--help`` stay quick (see cli/main.py)."""

from __future__ import annotations

from pathlib import Path

import typer

from tuyacloud.cli.failures import check_database_url
from tuyacloud.settings import Settings, default_data_dir

DataDir = typer.Option(None, "--data-dir", envvar="TUYACLOUD_DATA_DIR", help="Data directory (default ./.tuyacloud)")
DatabaseUrl = typer.Option(None, "--database-url", envvar="TUYACLOUD_DATABASE_URL", callback=check_database_url,
                           help="postgresql://... (default: SQLite in the data directory)")
JsonOut = typer.Option(False, "--json", help="Machine-readable output")


def settings_for(data_dir: Path | None, database_url: str | None) -> Settings:
    return Settings(data_dir=(data_dir or default_data_dir()).resolve(), database_url=database_url)

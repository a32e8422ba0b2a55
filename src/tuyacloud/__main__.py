"""``python -m tuyacloud``: the same command line as the installed ``tuyacloud`` script (e.g. ``python -m tuyacloud
serve`` from a checkout with ``PYTHONPATH=src``)."""

from tuyacloud.cli.main import app

app(prog_name="tuyacloud")

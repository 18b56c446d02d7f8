"""WSGI entry point for `flask --app wsgi` and gunicorn: ``app = create_app()``."""

import sys

from config import ConfigurationError
from expert_platform import create_app

try:
    app = create_app()
except ConfigurationError as error:
    sys.exit(f"Expert Platform refuses to start: {error}")

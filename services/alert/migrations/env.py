"""Alembic's entry point for the alert service's migrations."""

from servicekit.migrations import run_environment
from services.alert.migrations import ALERT_MIGRATIONS

run_environment(ALERT_MIGRATIONS)

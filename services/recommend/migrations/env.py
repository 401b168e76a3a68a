"""Alembic's entry point for the recommend service's migrations."""

from servicekit.migrations import run_environment
from services.recommend.migrations import RECOMMEND_MIGRATIONS

run_environment(RECOMMEND_MIGRATIONS)

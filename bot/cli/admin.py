"""HR admin commands (invite, approvals, tick, digest, export, links, ...)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Each HR command module adds its parser here as it lands."""

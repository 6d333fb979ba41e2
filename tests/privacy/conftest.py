"""Privacy tests share the digest tests' runtimes (same fixtures, one definition)."""

from tests.digest.conftest import rt, rt_any

__all__ = ["rt", "rt_any"]

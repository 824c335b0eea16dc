"""A database document as plain Python data (what the rules may see of the database)."""

from typing import Any

Document = dict[str, Any]

"""Ports a test or launcher picks and a server binds later lie below the ephemeral range, where
no outgoing connection can take one in between (`address already in use`, issue 23 item 11)."""

from __future__ import annotations

import ast
from pathlib import Path

from harness import ephemeral_range, free_ports, port_free

ROOT = Path(__file__).resolve().parents[2]


def test_free_ports_are_free_and_below_the_ephemeral_range():
    low, _ = ephemeral_range()
    offsets = (0, 1, 2, 3, 10, 20)
    bases = [free_ports(offsets) for _ in range(50)]
    for base in bases:
        assert all(base + offset < low for offset in offsets)
        assert all(port_free(base + offset) for offset in offsets)
    handed = [base + offset for base in bases for offset in offsets]
    assert len(set(handed)) == len(handed), "a port was handed out twice"


def test_nothing_picks_a_port_by_binding_port_0():
    """Binding port 0 and closing is how an ephemeral port is picked; nothing may do so."""
    found = []
    for folder in ("tests", "ops", "bench", "infra", "services", "shared"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "bind"
                    and node.args
                    and isinstance(node.args[0], ast.Tuple)
                    and isinstance(port := node.args[0].elts[-1], ast.Constant)
                    and port.value == 0
                ):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, found

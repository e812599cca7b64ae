"""The core's layers (docs/architecture.md, "Layout"): who may import whom, checked over
every import in packages/core, function-level ones included."""

from __future__ import annotations

import ast
import pathlib

SRC = pathlib.Path(__file__).resolve().parents[1] / "packages" / "core" / "src"

COMMON, NODE, WORKER, CALLER = (f"ember._core.{p}" for p in ("common", "node", "worker", "caller"))
CLUSTER = "ember._cluster"
# Leaf modules any layer may use: the native module, the exceptions, label matching.
LEAVES = {"ember", "ember._native", "ember.exceptions", "ember._labels"}
# What each layer may import from ember besides itself and the leaves.
ALLOWED = {
    COMMON: set(),
    CALLER: {COMMON},
    WORKER: {COMMON, CALLER},
    NODE: {COMMON},
    CLUSTER: {COMMON, NODE, CALLER, "ember.dashboard", "ember.util", "ember.runtime_env"},
}
# The few edges across layers, each for a reason (docs/architecture.md says which).
EXCEPTIONS = {
    # A process's first ember call connects it (ember.init with defaults).
    ("ember._core.caller.context", "ember._api"),
    # Workers build ObjectRefs (returned refs, generators) like any caller.
    ("ember._core.worker.execution", "ember._object_ref"),
    # The node starts its worker templates (the main one forked from its own process when
    # safe).
    ("ember._core.node.templates", "ember._core.worker.template"),
    # A driver that attaches to a running node speaks the worker's socket protocol.
    ("ember._cluster.connect", "ember._core.worker.worker_process"),
}


def _layer(module: str) -> str:
    for layer in ALLOWED:
        if module == layer or module.startswith(layer + "."):
            return layer
    return ""


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_only(tree: ast.AST) -> set[int]:
    """Line numbers of imports under `if TYPE_CHECKING:` (annotations only, never run)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                for sub in ast.walk(inner):
                    if isinstance(sub, ast.Import | ast.ImportFrom):
                        lines.add(sub.lineno)
    return lines


def _imports(path: pathlib.Path) -> list[str]:
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    typing_only = _type_checking_only(tree)
    out: list[str] = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in typing_only:
            continue
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([node.module] if node.module else []))
            # A name or a submodule: either way, the layer is that of its prefix.
            out += [f"{base}.{a.name}" for a in node.names]
    return [m for m in out if m == "ember" or m.startswith("ember.")]


def _target_layer_ok(src: str, target: str) -> bool:
    layer = _layer(src)
    if not layer:
        return True
    for leaf in LEAVES:
        if target == leaf or target.startswith(leaf + ".") and leaf != "ember":
            return True
    tl = _layer(target)
    if tl == layer:
        return True
    for allowed in ALLOWED[layer]:
        if target == allowed or target.startswith(allowed + "."):
            return True
    return any(src == a and (target == b or target.startswith(b + ".")) for a, b in EXCEPTIONS)


def test_core_layers_import_only_what_they_may() -> None:
    violations = []
    for path in sorted(SRC.rglob("*.py")):
        if "_pb2" in path.name:
            continue
        src = _module_name(path)
        for target in _imports(path):
            if not _target_layer_ok(src, target):
                violations.append(f"{src} imports {target}")
    assert not violations, "\n".join(violations)


def test_the_node_never_touches_protobuf_or_grpc() -> None:
    """All protobuf conversion lives in ember._cluster (the node has a ClusterPort)."""
    offenders = []
    for path in sorted((SRC / "ember" / "_core").rglob("*.py")):
        text = path.read_text()
        for word in ("_pb2", "import grpc", "from grpc", "google.protobuf"):
            if word in text:
                offenders.append(f"{_module_name(path)}: {word}")
    assert not offenders, offenders


def test_public_modules_reach_the_node_only_through_the_api() -> None:
    """Only ember._api builds a node manager (an embedded cluster); every other public
    module talks to the runtime through its client."""
    offenders = []
    for path in sorted((SRC / "ember").glob("*.py")):
        src = _module_name(path)
        if src == "ember._api":
            continue
        offenders += [f"{src} imports {t}" for t in _imports(path)
                      if t == NODE or t.startswith(NODE + ".")]
    assert not offenders, offenders


def test_the_rules_see_real_imports() -> None:
    """A check that finds nothing would pass silently: it must see the node's imports."""
    found = _imports(SRC / "ember" / "_core" / "node" / "node_manager.py")
    assert "ember._core.node.task_manager.TaskManager" in found
    assert not _target_layer_ok("ember._core.node.jobs", "ember._cluster.protos")
    assert not _target_layer_ok("ember._core.common.ids", "ember._core.node.records")

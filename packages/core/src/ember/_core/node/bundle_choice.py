"""Where a placement group's bundles go, as Ray's bundle scheduling policies choose, with
bundle label selectors (`bundle_label_selector`) and STRICT_PACK's soft target node.

Ray's bundle policies, over plain dicts: bundles are placed scarcest first (GPU, then
custom resources, memory, CPU), each on the node that keeps the largest share of what it
asks for free (Ray's least-resource score); PACK then fills that node with what else fits,
SPREAD moves on to a node the group does not use yet. The node manager reserves the
result in the native scheduler; STRICT_SPREAD groups without label selectors are placed
by the native scheduler's matching instead.
"""

from __future__ import annotations

from ember import _labels

__all__ = ["choose_nodes", "why_never"]

Resources = dict[str, float]
_PREDEFINED = ("object_store_memory", "memory", "CPU")


def _fits(request: Resources, offer: Resources) -> bool:
    return all(offer.get(k, 0.0) + 1e-9 >= v for k, v in request.items() if v > 0)


def _score(request: Resources, offer: Resources) -> float:
    """Ray's least-resource score: the share of each requested resource left free after
    placing; -1 if it does not fit."""
    if not _fits(request, offer):
        return -1.0
    score = 0.0
    for k, v in request.items():
        have = offer.get(k, 0.0)
        if have > 0:
            score += (have - v) / have
    return score


def _best(request: Resources, nodes: list[str], offer: dict[str, Resources]) -> str:
    best, best_score = "", -1.0
    for n in nodes:
        s = _score(request, offer[n])
        if s >= 0 and (not best or s > best_score):
            best, best_score = n, s
    return best


def _priority(bundle: Resources, custom: list[str]) -> tuple:
    """Ray's order: most GPU first, then most of each custom resource (by name), then
    object store memory, memory, CPU."""
    return (-bundle.get("GPU", 0.0), *(-bundle.get(k, 0.0) for k in custom),
            *(-bundle.get(k, 0.0) for k in _PREDEFINED))


def _take(offer: dict[str, Resources], node: str, bundle: Resources) -> None:
    left = offer[node]
    for k, v in bundle.items():
        left[k] = left.get(k, 0.0) - v


def choose_nodes(bundles: list[Resources], strategy: str, offer: dict[str, Resources],
                 labels: dict[str, dict[str, str]], selectors: list[dict[str, str]],
                 soft_target: str = "", local: str = "") -> list[str] | None:
    """The node of each bundle, or None if they cannot all be placed on `offer` (each
    node's free resources; pass the totals to ask whether they ever could). Between
    nodes that score the same, `local` (the deciding node) wins, then the order of
    `offer`."""
    offer = {n: dict(r) for n, r in sorted(offer.items(), key=lambda item: item[0] != local)}
    sel = selectors or [{} for _ in bundles]
    allowed = [[n for n in offer if _labels.matches(labels.get(n, {}), s)] for s in sel]
    if strategy == "STRICT_PACK":
        total: Resources = {}
        for b in bundles:
            for k, v in b.items():
                total[k] = total.get(k, 0.0) + v
        common = [n for n in offer if all(n in a for a in allowed)]
        node = ""
        if soft_target in common:
            node = _best(total, [soft_target], offer)
        node = node or _best(total, common, offer)
        return [node] * len(bundles) if node else None
    custom = sorted({k for b in bundles for k in b if k not in _PREDEFINED and k != "GPU"})
    order = sorted(range(len(bundles)), key=lambda i: _priority(bundles[i], custom))
    out = [""] * len(bundles)
    used: list[str] = []
    pending = list(order)
    while pending:
        i = pending.pop(0)
        fresh = [n for n in allowed[i] if n not in used]
        node = _best(bundles[i], fresh, offer)
        if not node and strategy != "STRICT_SPREAD":
            node = _best(bundles[i], [n for n in allowed[i] if n in used], offer)
        if not node:
            return None
        _take(offer, node, bundles[i])
        out[i] = node
        if node not in used:
            used.append(node)
        if strategy == "PACK":  # put whatever else fits on the same node
            for j in list(pending):
                if node in allowed[j] and _fits(bundles[j], offer[node]):
                    _take(offer, node, bundles[j])
                    out[j] = node
                    pending.remove(j)
    return out


def why_never(bundles: list[Resources], strategy: str, totals: dict[str, Resources],
              labels: dict[str, dict[str, str]], selectors: list[dict[str, str]]) -> str:
    """Why the group is infeasible as Ray judges it (a bundle that fits no matching node's
    totals; for STRICT_PACK, all of them on no node), or "" if it is not."""
    sel = selectors or [{} for _ in bundles]
    for i, b in enumerate(bundles):
        nodes = [n for n in totals if _labels.matches(labels.get(n, {}), sel[i])]
        if not nodes:
            return f"no alive node matches the label selector {sel[i]} of bundle {i}"
        if not any(_fits(b, totals[n]) for n in nodes):
            return f"bundle {i} {b} fits on no node" + (
                f" matching its label selector {sel[i]}" if sel[i] else "")
    if strategy == "STRICT_PACK" and choose_nodes(bundles, strategy, totals, labels,
                                                  selectors) is None:
        return "STRICT_PACK needs all bundles on one node, and no node can hold them all"
    return ""

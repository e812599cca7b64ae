"""Node labels and label selectors (Ray's `label_selector` and `fallback_strategy`).

A node carries string labels (`ember start --labels k=v,…`, `init(labels=…)`,
`Cluster.add_node(labels=…)`) plus `ray.io/node-id`. A selector maps label keys to
conditions: `"v"` (equals), `"!v"` (not equals), `"in(a, b)"`, `"!in(a, b)"`. Syntax follows
Kubernetes labels, as in Ray.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["DEFAULT_PREFIX", "matches", "parse_labels", "selector_error", "selectors",
           "validate_node_labels"]

DEFAULT_PREFIX = "ray.io/"
_NAME = r"([a-zA-Z0-9]([a-zA-Z0-9_.-]{0,61}[a-zA-Z0-9])?)"
_PREFIX = re.compile(rf"^({_NAME}?(\.{_NAME}?)*)$")
_SELECTOR = re.compile(rf"^!?(?:in)?\({_NAME}(?:, ?{_NAME})*\)$|^!?{_NAME}$")
_NAME_RE = re.compile(_NAME)
_HINT = ("must be 63 chars or less beginning and ending with an alphanumeric character "
         "([a-z0-9A-Z]) with dashes (-), underscores (_), dots (.), and alphanumerics between")


def _key_error(key: Any) -> str:
    if not isinstance(key, str):
        return f"Label keys must be strings, got {key!r}."
    name = key
    if "/" in key:
        prefix, name = key.rsplit("/", 1)
        if len(prefix) > 253 or not _PREFIX.fullmatch(prefix):
            return (f"Invalid label key prefix `{prefix}`. Prefix must be a series of DNS "
                    "labels separated by dots (.), not longer than 253 characters in total.")
    if len(name) > 63 or not _NAME_RE.fullmatch(name):
        return f"Invalid label key name `{name}`. Name {_HINT}."
    return ""


def validate_node_labels(labels: Any) -> dict[str, str]:
    """Check a node's labels (Kubernetes syntax); returns them as a plain dict."""
    if labels is None:
        return {}
    if not isinstance(labels, dict):
        raise TypeError(f"Node labels must be a dict of strings, got {type(labels).__name__}.")
    for key, value in labels.items():
        if err := _key_error(key):
            raise ValueError(err)
        if not isinstance(value, str):
            raise ValueError(f'The value of the "{key}" label is not a string: {value!r}.')
        if value and (len(value) > 63 or not _NAME_RE.fullmatch(value)):
            raise ValueError(f"Invalid label value `{value}`. Value {_HINT}.")
    return dict(labels)


def parse_labels(text: str) -> dict[str, str]:
    """`k1=v1,k2=v2` (as `ember start --labels` takes it) to a checked dict."""
    text = text.strip()
    if len(text) > 1 and text[0] == text[-1] == '"':
        text = text[1:-1]
    labels: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = pair.partition("=")
        if not sep or "=" in value:
            raise ValueError(f"Label {pair!r} is not a key=value pair.")
        labels[key.strip()] = value.strip()
    return validate_node_labels(labels)


def selector_error(selector: Any) -> str:
    """Why a label selector is malformed (Ray's message), or "" if it is well formed."""
    if not isinstance(selector, dict):
        return ""  # the caller raises TypeError for the top-level selector
    for key, value in selector.items():
        if err := _key_error(key):
            return err
        if value is None or value == "":
            continue
        if not isinstance(value, str) or not _SELECTOR.fullmatch(value):
            return (f"Invalid label selector value `{value}`. The label selector value should "
                    "contain optional operators and a label value. Supported operators are: "
                    f"! and {{'in'}}. Value {_HINT}.")
    return ""


def selectors(options: dict) -> list[dict[str, str]] | None:
    """The selectors to try in order (`label_selector`, then each `fallback_strategy`
    entry's), checked as Ray checks them; None when the options select no labels."""
    primary = options.get("label_selector")
    fallback = options.get("fallback_strategy")
    if primary is None and fallback is None:
        return None
    if primary is not None:
        if not isinstance(primary, dict):
            raise TypeError(f"label_selector must be a dict of label keys to conditions, got "
                            f"{type(primary).__name__}.")
        if err := selector_error(primary):
            raise ValueError(err)
    chain = [dict(primary or {})]
    if fallback is not None:
        if not isinstance(fallback, list):
            raise TypeError("fallback_strategy must be a list of dicts such as "
                            "[{'label_selector': {...}}].")
        for entry in fallback:
            if not isinstance(entry, dict) or not entry:
                raise ValueError("Each element in fallback_strategy must be a non-empty "
                                 "dictionary.")
            for option in entry:
                if option != "label_selector":
                    raise ValueError(f"Unsupported option found: '{option}'. Only "
                                     "['label_selector'] is currently supported.")
            sel = entry["label_selector"]
            if not isinstance(sel, dict):
                raise ValueError('The value of "label_selector" must be a dictionary.')
            if err := selector_error(sel):
                raise ValueError(err)
            chain.append(dict(sel))
    return chain


def _condition(value: str) -> tuple[bool, set[str]]:
    negate = value.startswith("!")
    if negate:
        value = value[1:]
    if value.startswith("in(") or value.startswith("("):
        inner = value[value.index("(") + 1:-1]
        return negate, {v.strip() for v in inner.split(",")}
    return negate, {value}


def matches(labels: dict[str, str], selector: dict[str, str]) -> bool:
    """Whether a node with `labels` satisfies every condition of `selector`."""
    for key, value in selector.items():
        if value is None or value == "":
            continue
        negate, values = _condition(value)
        present = labels.get(key)
        hit = present is not None and present in values
        if hit == negate:
            return False
    return True

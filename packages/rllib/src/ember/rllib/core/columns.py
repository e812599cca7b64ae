"""Names of the columns in sample and train batches (RLlib's `Columns`)."""

from __future__ import annotations

__all__ = ["Columns"]


class Columns:
    """Batch keys shared by env runners, connectors, RLModules and learners."""

    OBS = "obs"
    NEXT_OBS = "new_obs"
    ACTIONS = "actions"
    REWARDS = "rewards"
    TERMINATEDS = "terminateds"
    TRUNCATEDS = "truncateds"
    # True on the last row of a contiguous trajectory piece (episode end or fragment end).
    SEG_ENDS = "seg_ends"
    ACTION_LOGP = "action_logp"
    ACTION_DIST_INPUTS = "action_dist_inputs"
    VF_PREDS = "vf_preds"
    ADVANTAGES = "advantages"
    VALUE_TARGETS = "value_targets"
    EMBEDDINGS = "embeddings"
    EPS_ID = "eps_id"
    AGENT_ID = "agent_id"
    MODULE_ID = "module_id"
    T = "t"
    # n-step discount of a transition (gamma ** steps) for replay-based algorithms.
    DISCOUNTS = "discounts"
    WEIGHTS = "weights"

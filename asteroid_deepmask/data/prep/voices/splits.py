"""Speaker groups to tr/cv/tt: one person never lands in two splits, and the test set is diverse; whole
packages held out as a second, cross-corpus test set (xt)."""
from typing import Dict

import numpy as np

from ...layout import SPLITS

# Splits: share of the minutes aimed at for cv and tt each; a group larger than that share stays
# in training (the fillets main voices, festvox-ru: they carry most of the minutes).
SPLIT_TARGET = 0.125
SPLIT_BAND = (0.10, 0.15)  # shares of the minutes that are all fine for cv and tt
SPLIT_SPEAKER_SHARE = 0.15  # share of the speakers aimed at for cv and tt each: most voices train
SPLIT_MAX_OVERSHOOT = 1.5
SPLIT_CANDIDATES = 400
TT_MIN_PACKAGES = 3
# Packages held out of training and validation whole: their speakers are a second test set, "xt", unlike
# tt's unseen speakers of the training packages in recordings, languages, microphones and speech:
# fillets-ng-data-nl, acted Dutch sentences (the Czech and English dubs have other actors), and
# hedgewars-data, short exclamations of its voice packs. Both are speaker groups of their own.
HELDOUT_PACKAGES = ("fillets-ng-data-nl", "hedgewars-data")
HELDOUT_SPLIT = "xt"
HELDOUT_DESCRIPTION = "cross-corpus: speakers of whole packages held out of training and validation"


def split_groups(groups: Dict[str, dict], seed: int) -> Dict[str, str]:
    """group -> split. ``groups[g]`` has ``minutes``, ``packages`` (set), ``sexes`` (set) and
    ``speakers`` (count).

    Groups larger than SPLIT_TARGET of all minutes stay in training (they would overshoot a split
    alone). The others are drawn in SPLIT_CANDIDATES random orders from ``seed``; each order fills
    tt, then cv, up to the target without passing SPLIT_MAX_OVERSHOOT times it. Of the
    assignments in which tt holds speakers of at least TT_MIN_PACKAGES packages and both estimated
    sexes, and cv is not empty, the best has cv and tt inside SPLIT_BAND of the minutes, then
    about SPLIT_SPEAKER_SHARE of the speakers each (several voices to validate and test on, but
    most voices in training, since training draws speakers uniformly), then is closest to the
    minutes target. Deterministic from the seed; a RuntimeError if no assignment qualifies.
    """
    total = sum(g["minutes"] for g in groups.values())
    if total <= 0:
        raise RuntimeError("no speech kept: cannot split an empty corpus")
    target = SPLIT_TARGET * total
    pinned = sorted(name for name, g in groups.items() if g["minutes"] > target)
    free = sorted(name for name in groups if name not in pinned)
    n_speakers = sum(g["speakers"] for g in groups.values())
    rng = np.random.default_rng(seed)
    best, best_score = None, None
    for _ in range(SPLIT_CANDIDATES):
        order = [free[i] for i in rng.permutation(len(free))]
        assignment = {name: "tr" for name in pinned}
        filled = {"tt": 0.0, "cv": 0.0}
        for name in order:
            minutes = groups[name]["minutes"]
            for split in ("tt", "cv"):
                if filled[split] < target and filled[split] + minutes <= SPLIT_MAX_OVERSHOOT * target:
                    assignment[name] = split
                    filled[split] += minutes
                    break
            else:
                assignment[name] = "tr"
        members = {s: [groups[n] for n, a in assignment.items() if a == s] for s in SPLITS}
        tt_packages = set().union(*[g["packages"] for g in members["tt"]]) if members["tt"] else set()
        tt_sexes = set().union(*[g["sexes"] for g in members["tt"]]) if members["tt"] else set()
        if len(tt_packages) < TT_MIN_PACKAGES or not {"m", "f"} <= tt_sexes or not members["cv"] or not members["tr"]:
            continue
        shares = [filled[s] / total for s in ("cv", "tt")]
        outside = sum(max(0.0, SPLIT_BAND[0] - x, x - SPLIT_BAND[1]) for x in shares)
        counts = [sum(g["speakers"] for g in members[s]) for s in ("cv", "tt")]
        off_count = sum(abs(n - SPLIT_SPEAKER_SHARE * n_speakers) for n in counts)
        score = (round(outside, 4), round(off_count), round(sum(abs(x - SPLIT_TARGET) for x in shares), 4))
        if best_score is None or score < best_score:
            best, best_score = assignment, score
    if best is None:
        raise RuntimeError(
            f"cannot split {len(groups)} speaker groups ({total:.1f} min) so that tt holds unseen speakers of at "
            f"least {TT_MIN_PACKAGES} packages and both estimated sexes: add packages or speakers")
    return best

"""The build of the recorded-speech corpus (:func:`build_voices_corpus`): select, decode and
deduplicate the clips of every package, estimate sexes, split the speaker groups, write the
split folders, ``manifest.csv``, ``excluded.csv``, ``LICENCES.md`` and, last, ``voices.json``."""
import hashlib
import json
import logging
import os
import shutil
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from tqdm import tqdm

from ...io import completed, file_digest, mark_complete, write_csv_atomic, write_wav_atomic
from ...layout import SPLITS
from .audio import PITCH_SECONDS, VOICES_FORMAT, estimate_sex, loud_f0, process_file, processing_settings
from .debs import deb_field, fetch_debs, unpack_deb
from .reports import split_table, write_licences
from .rules import ALLOW_LIST, Pick, check_allowed, select_package
from .splits import (HELDOUT_PACKAGES, HELDOUT_SPLIT, SPLIT_BAND, SPLIT_CANDIDATES, SPLIT_MAX_OVERSHOOT,
                     SPLIT_SPEAKER_SHARE, SPLIT_TARGET, TT_MIN_PACKAGES, split_groups)

log = logging.getLogger(__name__)

MANIFEST_COLUMNS = ("package", "version", "path", "licence", "speaker", "group", "sex", "split", "seconds", "wav")
EXCLUDED_COLUMNS = ("package", "path", "reason", "detail")


def _clip_name(path: str) -> str:
    """A readable, ASCII, per-speaker file name from the path inside the package."""
    parts = path.split("/")
    parts = parts[2:] if parts[:2] == ["usr", "share"] else parts
    parts = parts[1:] if parts[:1] == ["games"] else parts
    parts = parts[1:] if len(parts) > 1 else parts  # the package's data folder
    parts[-1] = parts[-1].split(".", 1)[0]
    name = "_".join(parts)
    name = "".join(c if (c.isascii() and (c.isalnum() or c in "-_.")) else f"u{ord(c):04x}" for c in name)
    return name



def _write_csv(path: Path, rows: Sequence[dict], columns: Sequence[str]) -> None:
    """``rows`` (dicts) as a csv of ``columns``; other keys are left out, missing ones empty."""
    write_csv_atomic(path, columns, [[row.get(column, "") for column in columns] for row in rows])


def _process_package(package: str, version: str, root: Path, picks: List[Tuple[str, Pick]], out_dir: Path,
                     sample_rate: int, progress: tqdm) -> dict:
    """Decode a package's kept files into ``OUT/work/<package>``, cached by a key over the
    settings and the file list: a rerun (another seed, a crash) reuses finished packages."""
    key = hashlib.sha1(json.dumps([processing_settings(sample_rate), version, [(p, k.speaker) for p, k in picks]])
                       .encode()).hexdigest()
    work = out_dir / "work" / package
    done = out_dir / "work" / f"{package}.json"
    cached = completed(done, "key", key)
    if cached is not None:
        progress.update(len(picks))
        return cached
    shutil.rmtree(work, ignore_errors=True)
    clips, excluded, f0 = [], [], defaultdict(list)
    pitch_seconds: Dict[str, float] = defaultdict(float)
    used_names: Dict[str, set] = defaultdict(set)
    for rel, pick in picks:
        progress.set_postfix_str(package, refresh=False)
        audio, reason, detail = process_file(root / rel, sample_rate)
        progress.update(1)
        if audio is None:
            excluded.append({"package": package, "path": rel, "reason": reason, "detail": detail})
            continue
        name = _clip_name(rel)
        if name in used_names[pick.speaker]:
            name += "-" + hashlib.sha1(rel.encode()).hexdigest()[:8]
        used_names[pick.speaker].add(name)
        wav_rel = f"{package}/{pick.speaker}/{name}.wav"
        write_wav_atomic(work / pick.speaker / f"{name}.wav", audio, sample_rate)
        if pitch_seconds[pick.speaker] < PITCH_SECONDS:
            f0[pick.speaker].extend(loud_f0(audio, sample_rate).round(2).tolist())
            pitch_seconds[pick.speaker] += len(audio) / sample_rate
        clips.append({"package": package, "version": version, "path": rel, "licence": pick.licence,
                      "speaker": pick.speaker, "group": pick.group, "seconds": round(len(audio) / sample_rate, 3),
                      "work": wav_rel})
    result = {"key": key, "clips": clips, "excluded": excluded, "f0": dict(f0)}
    mark_complete(done, result)
    return result


def _link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def build_voices_corpus(out_dir, debs_dir=None, seed: int = 0, sample_rate: int = 8000,
                        packages: Optional[Sequence[str]] = None, heldout_packages: Sequence[str] = HELDOUT_PACKAGES) -> dict:
    """Build (or find finished) the recorded-speech corpus in ``out_dir``; returns voices.json's
    content. ``packages`` defaults to the whole allow-list; any other package is refused (the
    NOTES rule). ``debs_dir``: a folder of ready .deb files instead of ``apt-get download``.
    ``heldout_packages`` (those of ``packages``) go whole to the cross-corpus test split ``xt``:
    none of their speakers trains or validates.

    Idempotent: if ``voices.json`` exists with the same settings (seed, sample rate, package
    versions), nothing is done. A half-finished build is resumed: downloads, unpacked packages
    and per-package decoded clips are reused; the split folders are rebuilt.
    """
    out_dir = Path(out_dir)
    packages = check_allowed(packages if packages is not None else list(ALLOW_LIST))
    heldout = [p for p in check_allowed(heldout_packages) if p in packages]
    out_dir.mkdir(parents=True, exist_ok=True)
    debs = fetch_debs(packages, out_dir, Path(debs_dir) if debs_dir is not None else None)
    versions = {p: deb_field(debs[p], "Version") for p in packages}
    settings = {"format": VOICES_FORMAT, "seed": seed, "sample_rate": sample_rate, "packages": versions,
                "processing": processing_settings(sample_rate),
                "split": {"target": SPLIT_TARGET, "band": list(SPLIT_BAND), "max_overshoot": SPLIT_MAX_OVERSHOOT,
                          "speaker_share": SPLIT_SPEAKER_SHARE, "candidates": SPLIT_CANDIDATES,
                          "tt_min_packages": TT_MIN_PACKAGES, "heldout_packages": heldout}}
    marker = out_dir / "voices.json"
    previous = completed(marker, "settings", settings)  # another build: no stale marker while it runs
    if previous is not None:
        log.info("%s is complete with these settings: nothing to do", out_dir)
        return {**previous, "up_to_date": True}

    roots = {p: unpack_deb(debs[p], p, versions[p], out_dir) for p in packages}
    picks: Dict[str, List[Tuple[str, Pick]]] = {}
    excluded: List[dict] = []
    seen: Dict[str, str] = {}
    for package in packages:
        picked, skipped = select_package(package, roots[package])
        excluded += [{"package": package, "path": rel, "reason": s.reason, "detail": s.detail} for rel, s in skipped]
        unique = []
        for rel, pick in picked:  # byte-identical files: the first in (allow-list, path) order stays
            digest = file_digest(roots[package] / rel, "sha1")
            if digest in seen:
                excluded.append({"package": package, "path": rel, "reason": "duplicate", "detail": seen[digest]})
            else:
                seen[digest] = f"{package}:{rel}"
                unique.append((rel, pick))
        picks[package] = unique

    clips: List[dict] = []
    f0: Dict[str, List[float]] = defaultdict(list)
    with tqdm(total=sum(len(v) for v in picks.values()), desc="voices", unit="file") as progress:
        for package in packages:
            result = _process_package(package, versions[package], roots[package], picks[package], out_dir,
                                      sample_rate, progress)
            clips += result["clips"]
            excluded += result["excluded"]
            for speaker, values in result["f0"].items():
                f0[speaker] += values

    sexes = {speaker: estimate_sex(np.asarray(f0.get(speaker, []))) for speaker in sorted({c["speaker"] for c in clips})}
    heldout_groups = {c["group"] for c in clips if c["package"] in heldout}
    shared = sorted(heldout_groups & {c["group"] for c in clips if c["package"] not in heldout})
    if shared:  # one person would be in training and in the cross-corpus test
        raise RuntimeError(f"speaker groups {shared} span held-out and other packages: hold out all of their packages, or none")
    groups: Dict[str, dict] = {}
    for clip in clips:
        clip["sex"] = sexes[clip["speaker"]][0]
        if clip["package"] in heldout:
            continue
        g = groups.setdefault(clip["group"], {"minutes": 0.0, "packages": set(), "sexes": set(), "speakers": set()})
        g["minutes"] += clip["seconds"] / 60
        g["packages"].add(clip["package"])
        g["sexes"].add(clip["sex"])
        g["speakers"].add(clip["speaker"])
    for g in groups.values():
        g["speakers"] = len(g["speakers"])
    assignment = split_groups(groups, seed)

    speakers_dir = out_dir / "speakers"
    shutil.rmtree(speakers_dir, ignore_errors=True)
    for clip in clips:
        clip["split"] = HELDOUT_SPLIT if clip["package"] in heldout else assignment[clip["group"]]
        name = clip["work"].rsplit("/", 1)[-1]
        clip["wav"] = f"speakers/{clip['split']}/{clip['speaker']}/{name}"
        _link(out_dir / "work" / clip["work"], out_dir / clip["wav"])
    clips.sort(key=lambda c: ((*SPLITS, HELDOUT_SPLIT).index(c["split"]), c["speaker"], c["wav"]))
    _write_csv(out_dir / "manifest.csv", clips, MANIFEST_COLUMNS)
    excluded.sort(key=lambda e: (list(ALLOW_LIST).index(e["package"]), e["path"]))
    _write_csv(out_dir / "excluded.csv", excluded, EXCLUDED_COLUMNS)
    write_licences(out_dir / "LICENCES.md", clips, versions)

    exclusions = {p: dict(sorted(Counter(e["reason"] for e in excluded if e["package"] == p).items())) for p in packages}
    for package in packages:
        kept = [c for c in clips if c["package"] == package]
        log.info("%s %s: kept %d clips (%.1f min, %d speakers); left out %s", package, versions[package], len(kept),
                 sum(c["seconds"] for c in kept) / 60, len({c["speaker"] for c in kept}), exclusions[package] or "none")
    summary = {
        "settings": settings,
        "table": split_table(clips),
        "speakers": {s: {"sex": sexes[s][0], "median_f0_hz": None if np.isnan(sexes[s][1]) else round(sexes[s][1], 1),
                         "group": next(c["group"] for c in clips if c["speaker"] == s),
                         "split": next(c["split"] for c in clips if c["speaker"] == s),
                         "minutes": round(sum(c["seconds"] for c in clips if c["speaker"] == s) / 60, 2)}
                     for s in sexes},
        "excluded": exclusions,
        "minutes": round(sum(c["seconds"] for c in clips) / 60, 2),
    }
    mark_complete(marker, summary, indent=2, ensure_ascii=False)  # last: the completion marker
    return summary

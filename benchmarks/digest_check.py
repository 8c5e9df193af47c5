"""Determinism guard for kernel performance work: digests of a fixed set of runs.

Every catalog scenario x guard set x fault set x strategy (random, pct, dfs's first
schedule) x a few seeds: the lean run digest, plus, for a recorded run of the same seed,
the trace digest and a hash of its choice sequence. Write the figures before a change and
compare after: any difference means the change altered a run.

    python benchmarks/digest_check.py --write before.json
    python benchmarks/digest_check.py --compare before.json   # exit 1 on any difference
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys

from racesim.engine.runner import config_for, run_one
from racesim.models.guards import Guards
from racesim.scenarios.loader import catalog, load
from racesim.sim.config import Faults
from racesim.sim.trace import digest

GUARDS = ("none", "layer1", "layer2", "both", "serialized")
FAULTS = ("", "executor-crash=0.2", "crash=0.05")
STRATEGIES = ("random", "pct", "dfs")
SEEDS = (1, 2)


def figures() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path in catalog():
        scenario = load(str(path))
        for guards in GUARDS:
            for faults in FAULTS:
                config = config_for(scenario, Guards.parse(guards), faults=Faults.parse(faults) if faults else None)
                for strategy in STRATEGIES:
                    for seed in SEEDS:
                        lean = run_one(config, seed, strategy)
                        rec = run_one(config, seed, strategy, record=True)
                        choices = hashlib.sha256(json.dumps(rec.output.choices).encode()).hexdigest()
                        key = f"{scenario.name}|{guards}|{faults or '-'}|{strategy}|{seed}"
                        out[key] = [lean.digest, rec.digest, digest(rec.output.records), choices]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", metavar="FILE")
    group.add_argument("--compare", metavar="FILE")
    args = parser.parse_args()
    now = figures()
    if args.write:
        with open(args.write, "w", encoding="utf-8") as fh:
            json.dump(now, fh, indent=0, sort_keys=True)
        print(f"{len(now)} runs written to {args.write}")
        return 0
    with open(args.compare, encoding="utf-8") as fh:
        before = json.load(fh)
    differ = sorted(k for k in before.keys() | now.keys() if before.get(k) != now.get(k))
    for key in differ[:20]:
        print(f"differs: {key}")
    print(f"{len(now)} runs compared, {len(differ)} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())

# ruff: noqa: E501 - the step table keeps one summary per line
"""The step map: every step label the models use -> what it does, where racesim performs it,
and where attune performs it at each modelled commit.

The labels are the spec's (``P6e``, ``F1``, ``H21``, ``D5'``, ``W6``, ...). For each one:

- ``summary``: one line in the project's own words;
- ``racesim``: the model function(s) that perform the step, as ``module:qualname``; the file
  and line are computed from the live function object (``inspect``), so they never drift;
- ``attune``: per version (``pre``, ``fix``, ``f93``, ``head``) the file and line range in
  attune's repository at that commit, read from the source (paths and line numbers only).
  A version missing from the mapping means the step does not exist there.

``python -m racesim.models.step_map --markdown`` renders docs/step-map.md from this table.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import cast

from racesim.models.guards import HEAD_SWITCHES, NAMED_SETS, OPTIONAL_SWITCHES, Guards

ATTUNE_REPO = "https://github.com/AndroxxTraxxon/attune"
VERSIONS = ("pre", "fix", "f93", "head")
# version -> (label used in reports, full commit sha)
COMMITS: dict[str, tuple[str, str]] = {
    "pre": ("PRE b54aa3e", "b54aa3ec26b32ae822168b96dbcf93bf14dfbadd"),
    "fix": ("FIX 7438f92", "7438f92502ca10cc997108a3a8f73ca78fcfccde"),
    "f93": ("F93 f93e922", "f93e9229d203f7ce9bc2b3b6389b4515a78e444a"),
    "head": ("HEAD 9206d41", "9206d4171faa2efd88c201a8240f7442fb4b9007"),
}
# Other spellings of a version: commit prefixes, and the guard sets that reproduce one.
# (``layer1`` / ``layer2`` alone are ablations of FIX, not a released version.)
VERSION_ALIASES: dict[str, str] = {
    "pre-fix": "pre",
    "none": "pre",
    "both": "fix",
    "serialized": "f93",
    **{sha[:7]: version for version, (_, sha) in COMMITS.items()},
}
DOC_PATH = "docs/step-map.md"

# attune paths, short names for the table below
SCHED = "crates/executor/src/scheduler.rs"
LISTENER = "crates/executor/src/completion_listener.rs"
CONSUMER = "crates/common/src/mq/consumer.rs"
EXEC_REPO = "crates/common/src/repositories/execution.rs"
WF_REPO = "crates/common/src/repositories/workflow.rs"
W_SERVICE = "crates/worker/src/service.rs"
W_EXEC = "crates/worker/src/executor.rs"
TIMEOUT = "crates/executor/src/timeout_monitor.rs"
SUPERVISOR = "crates/supervisor/src/main.rs"
DEAD_LETTER = "crates/executor/src/dead_letter_handler.rs"
CONN = "crates/common/src/mq/connection.rs"
MAINT = "crates/common/src/repositories/maintenance.rs"


@dataclass(frozen=True, slots=True)
class Span:
    """A line range in one attune file at one commit."""

    path: str
    start: int
    end: int

    @property
    def location(self) -> str:
        return f"{self.path}:{self.start}" if self.end == self.start else f"{self.path}:{self.start}-{self.end}"

    def permalink(self, sha: str) -> str:
        lines = f"L{self.start}" if self.end == self.start else f"L{self.start}-L{self.end}"
        return f"{ATTUNE_REPO}/blob/{sha}/{self.path}#{lines}"


@dataclass(frozen=True, slots=True)
class Step:
    label: str
    actor: str
    summary: str
    racesim: tuple[str, ...]  # "module:qualname", primary first; empty: not modelled (yet)
    attune: Mapping[str, tuple[Span, ...]]  # version -> spans, primary first
    note: str = ""

    @property
    def versions(self) -> tuple[str, ...]:
        return tuple(v for v in VERSIONS if v in self.attune)


@dataclass(frozen=True, slots=True)
class RacesimRef:
    target: str  # module:qualname
    path: str  # relative to the repository root
    line: int
    file: str = ""  # absolute path of the source file on this machine

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def url(self) -> str:
        """A link that opens the model's source file on this machine (the line is in the text)."""
        return f"{Path(self.file).as_uri()}#L{self.line}" if self.file else ""


@dataclass(frozen=True, slots=True)
class AttuneRef:
    version: str
    commit: str  # full sha
    span: Span

    @property
    def location(self) -> str:
        return self.span.location

    @property
    def url(self) -> str:
        return self.span.permalink(self.commit)


@dataclass(frozen=True, slots=True)
class StepRef:
    """What a report needs to cite one step at one version."""

    label: str
    version: str
    summary: str
    racesim: RacesimRef | None  # None: racesim does not model this step
    attune: AttuneRef | None  # None: the step does not exist in this version
    also: tuple[AttuneRef, ...] = field(default=())  # helpers the step calls

    @property
    def exists(self) -> bool:
        return self.attune is not None

    @property
    def racesim_ref(self) -> str | None:
        return self.racesim.location if self.racesim else None

    @property
    def attune_ref(self) -> str | None:
        return self.attune.location if self.attune else None

    @property
    def attune_url(self) -> str | None:
        return self.attune.url if self.attune else None

    @property
    def anchor(self) -> str:
        return anchor(self.label)


def _s(path: str, start: int, end: int | None = None) -> Span:
    return Span(path, start, start if end is None else end)


def _all(*spans: Span) -> tuple[Span, ...]:
    return spans


ADV = "racesim.models.advance:_advance"
ADV_WRAP = "racesim.models.advance:advance_workflow"
RELEASE = "racesim.models.advance:_release"
DISPATCH = "racesim.models.dispatch:dispatch"
EXPAND = "racesim.models.dispatch:expand"
MATERIALISE = "racesim.models.dispatch:materialise"
LISTEN = "racesim.models.listener:completion_listener"
WORKER_SLOT = "racesim.models.worker:worker_slot"
RUN = "racesim.models.worker:run_execution"
SCHEDULER = "racesim.models.execution_scheduler:execution_scheduler"
CLAIM = "racesim.models.execution_scheduler:_claim"
START = "racesim.models.starter:start_workflow"

# fmt: off
STEPS: tuple[Step, ...] = (
    # ---- advance_workflow: PRE-FIX body (spec 4.1), reused by every version ----------
    Step("P1", "advance", "Take W, T and the finishing row's outcome (succeeded / timed out / failed) from X as the listener loaded it.",
         (ADV,), {"pre": _all(_s(SCHED, 857, 868)), "fix": _all(_s(SCHED, 868, 879)),
                  "f93": _all(_s(SCHED, 1876, 1887)), "head": _all(_s(SCHED, 3045, 3056))}),
    Step("P2", "advance", "Read the workflow_execution row with a plain SELECT (no lock); the rest of the advance works on this snapshot.",
         (ADV,), {"pre": _all(_s(SCHED, 876, 881)), "fix": _all(_s(SCHED, 887, 892))},
         "F93/HEAD read the same row under FOR UPDATE instead (H4)."),
    Step("P3", "advance", "Stop if the workflow is already completed, failed or cancelled.",
         (ADV,), {"pre": _all(_s(SCHED, 884, 893)), "fix": _all(_s(SCHED, 895, 904))},
         "F93/HEAD: H5 (completed or failed only)."),
    Step("P4", "advance", "Read the workflow definition (parameter defaults only) and rebuild the task graph from the row's stored snapshot.",
         (ADV,), {"pre": _all(_s(SCHED, 896, 915)), "fix": _all(_s(SCHED, 907, 926)),
                  "f93": _all(_s(SCHED, 1979, 1998)), "head": _all(_s(SCHED, 3152, 3171))},
         "The spec calls this H8 in the serialized versions; racesim keeps the label P4 everywhere."),
    Step("P5", "advance", "Copy the completed and failed lists out of the snapshot; the advance edits these copies.",
         (ADV,), {"pre": _all(_s(SCHED, 918, 919)), "fix": _all(_s(SCHED, 929, 930)),
                  "f93": _all(_s(SCHED, 2001, 2002)), "head": _all(_s(SCHED, 3174, 3175))}),
    Step("P6", "advance", "Branch: X is a with_items item (it carries an item index).",
         (ADV,), {"pre": _all(_s(SCHED, 924, 925)), "fix": _all(_s(SCHED, 935, 936)),
                  "f93": _all(_s(SCHED, 2007, 2008)), "head": _all(_s(SCHED, 3180, 3181))}),
    Step("P6a", "advance", "Read the workflow's own execution row (used as parent when releasing items).",
         (ADV,), {"pre": _all(_s(SCHED, 930, 939)), "fix": _all(_s(SCHED, 941, 950)),
                  "f93": _all(_s(SCHED, 2013, 2022)), "head": _all(_s(SCHED, 3186, 3195))}),
    Step("P6b", "advance", "Count the other items of T that are scheduling, scheduled or running.",
         (ADV,), {"pre": _all(_s(SCHED, 944, 956)), "fix": _all(_s(SCHED, 955, 967)),
                  "f93": _all(_s(SCHED, 2027, 2039)), "head": _all(_s(SCHED, 3200, 3212))}),
    Step("P6c", "advance", "Free slots = concurrency (default 1) minus that count, never below zero; HEAD releases at most one.",
         (ADV,), {"pre": _all(_s(SCHED, 959, 965)), "fix": _all(_s(SCHED, 970, 975)),
                  "f93": _all(_s(SCHED, 2042, 2047)), "head": _all(_s(SCHED, 3215, 3222))},
         "The min(1, ...) clamp is the release_one switch; it exists only at HEAD."),
    Step("P6d", "advance", "Pick the lowest-index items still requested and request them again (publish now, or queue in the outbox); their rows stay requested.",
         (RELEASE,), {"pre": _all(_s(SCHED, 967, 983), _s(SCHED, 774, 838)),
                          "fix": _all(_s(SCHED, 977, 993), _s(SCHED, 785, 849)),
                          "f93": _all(_s(SCHED, 2049, 2065), _s(SCHED, 1739, 1801)),
                          "head": _all(_s(SCHED, 3224, 3240), _s(SCHED, 2818, 2880))}),
    Step("P6e", "advance", "Count the other items of T not yet finished; if any, return without touching the workflow row.",
         (ADV,), {"pre": _all(_s(SCHED, 987, 1010)), "fix": _all(_s(SCHED, 997, 1020)),
                  "f93": _all(_s(SCHED, 2069, 2092)), "head": _all(_s(SCHED, 3244, 3270))}),
    Step("F1", "advance", "Layer 1: return if T is already in the completed or failed list of the snapshot read at the top (no fresh read); with_items only.",
         (ADV,), {"fix": _all(_s(SCHED, 1040, 1053)), "f93": _all(_s(SCHED, 2112, 2125)),
                  "head": _all(_s(SCHED, 3290, 3306))},
         "In F93/HEAD the snapshot is the FOR UPDATE read, so it is current."),
    Step("P6f", "advance", "Check whether any item of T failed or timed out: put T in the failed list if so, else in the completed list.",
         (ADV,), {"pre": _all(_s(SCHED, 1013, 1032)), "fix": _all(_s(SCHED, 1056, 1075)),
                  "f93": _all(_s(SCHED, 2128, 2147)), "head": _all(_s(SCHED, 3309, 3328))}),
    Step("P7", "advance", "Plain task: put T in the completed list if X succeeded, else in the failed list.",
         (ADV,), {"pre": _all(_s(SCHED, 1033, 1042)), "fix": _all(_s(SCHED, 1076, 1085)),
                  "f93": _all(_s(SCHED, 2148, 2157)), "head": _all(_s(SCHED, 3329, 3338))}),
    Step("P8", "advance", "Read the workflow's own execution row again and build the parameters from its config and the defaults.",
         (ADV,), {"pre": _all(_s(SCHED, 1045, 1060)), "fix": _all(_s(SCHED, 1088, 1103))},
         "F93/HEAD reuse the row read at H6 (no second read)."),
    Step("P9", "advance", "Read every child of the workflow's execution and keep the latest finished result per task name.",
         (ADV,), {"pre": _all(_s(SCHED, 1063, 1080)), "fix": _all(_s(SCHED, 1106, 1123)),
                  "f93": _all(_s(SCHED, 2167, 2184)), "head": _all(_s(SCHED, 3348, 3373))},
         "HEAD also decrypts secret-bearing results here, one extra read per finished child (3361-3368)."),
    Step("P10", "advance", "Build the evaluation context: parameters, workflow variables from the snapshot, task results, and X's own outcome.",
         (ADV,), {"pre": _all(_s(SCHED, 1082, 1092)), "fix": _all(_s(SCHED, 1125, 1135)),
                  "f93": _all(_s(SCHED, 2186, 2196)), "head": _all(_s(SCHED, 3397, 3435))}),
    Step("P11", "advance", "Walk T's transitions in order; for each that fires, apply its publishes, then consider each target.",
         (ADV,), {"pre": _all(_s(SCHED, 1098, 1189)), "fix": _all(_s(SCHED, 1141, 1267)),
                  "f93": _all(_s(SCHED, 2202, 2293)), "head": _all(_s(SCHED, 3441, 3536))}),
    Step("P11a", "advance", "Skip a target already in the completed or failed list.",
         (ADV,), {"pre": _all(_s(SCHED, 1154, 1162)), "fix": _all(_s(SCHED, 1197, 1205)),
                  "f93": _all(_s(SCHED, 2258, 2266)), "head": _all(_s(SCHED, 3498, 3506))}),
    Step("F2", "advance", "Layer 2: count every row of this workflow with the target's name (any status); skip the target if one exists.",
         (ADV,), {"fix": _all(_s(SCHED, 1223, 1240))},
         "Removed before F93 (the dispatch key replaces it)."),
    Step("P11b", "advance", "Join barrier: skip the target while fewer than `join` of its inbound tasks are in the completed list.",
         (ADV,), {"pre": _all(_s(SCHED, 1166, 1181)), "fix": _all(_s(SCHED, 1244, 1259)),
                  "f93": _all(_s(SCHED, 2270, 2285)), "head": _all(_s(SCHED, 3510, 3528))},
         "HEAD also remembers the skipped target in the deferred-join set D (3522-3524)."),
    Step("P11c", "advance", "Admit the target into S (the successors to dispatch) unless it is already there.",
         (ADV,), {"pre": _all(_s(SCHED, 1183, 1185)), "fix": _all(_s(SCHED, 1261, 1263)),
                  "f93": _all(_s(SCHED, 2287, 2289)), "head": _all(_s(SCHED, 3530, 3532))}),
    Step("P12", "advance", "Count this workflow's unfinished children whose task name is in neither list (before any dispatch).",
         (ADV,), {"pre": _all(_s(SCHED, 1194, 1200), _s(SCHED, 1279, 1304)),
                  "fix": _all(_s(SCHED, 1272, 1278), _s(SCHED, 1358, 1383)),
                  "f93": _all(_s(SCHED, 2298, 2304), _s(SCHED, 2412, 2434)),
                  "head": _all(_s(SCHED, 3548, 3554), _s(SCHED, 3695, 3717))}),
    Step("P13", "advance", "Dispatch each admitted successor; a dispatch error puts it in the failed list.",
         (ADV,), {"pre": _all(_s(SCHED, 1203, 1225)), "fix": _all(_s(SCHED, 1281, 1304)),
                  "f93": _all(_s(SCHED, 2307, 2330)), "head": _all(_s(SCHED, 3557, 3581))},
         "PRE/FIX create and publish successors before the lists are saved (P14)."),
    Step("P14", "advance", "Write current, completed and failed lists and the variables back as whole values (last writer wins).",
         (ADV,), {"pre": _all(_s(SCHED, 1227, 1248), _s(WF_REPO, 543, 623)),
                  "fix": _all(_s(SCHED, 1306, 1327), _s(WF_REPO, 543, 623)),
                  "f93": _all(_s(SCHED, 2333, 2353), _s(WF_REPO, 517, 597)), "head": _all(_s(SCHED, 3584, 3604), _s(WF_REPO, 517, 597))}),
    Step("P15", "advance", "Nothing admitted and nothing running: mark the workflow completed (failed if the failed list is non-empty) and its own execution likewise.",
         (ADV,), {"pre": _all(_s(SCHED, 1252, 1273), _s(SCHED, 1308, 1362)),
                  "fix": _all(_s(SCHED, 1331, 1352), _s(SCHED, 1387, 1441)),
                  "f93": _all(_s(SCHED, 2357, 2378), _s(SCHED, 2561, 2613)),
                  "head": _all(_s(SCHED, 3608, 3658), _s(SCHED, 3840, 3894))},
         "HEAD also needs the deferred-join set empty, and queues a completion for a nested workflow's parent."),
    # ---- serialized wrapper (spec 4.3) -----------------------------------------------
    Step("H2", "advance", "Take a pooled connection and a session advisory lock keyed on W (blocking).",
         (ADV_WRAP,), {"f93": _all(_s(SCHED, 1820, 1824)), "head": _all(_s(SCHED, 2937, 2941))}),
    Step("H3", "advance", "BEGIN a transaction on the locked connection.",
         (ADV_WRAP,), {"f93": _all(_s(SCHED, 1827)), "head": _all(_s(SCHED, 2944))}),
    Step("H4", "advance", "Read the workflow_execution row FOR UPDATE (row lock until commit).",
         (ADV,), {"f93": _all(_s(SCHED, 1895, 1900), _s(WF_REPO, 615, 633)),
                  "head": _all(_s(SCHED, 3064, 3069), _s(WF_REPO, 615, 633))}),
    Step("H5", "advance", "Stop if the workflow is already completed or failed (cancelled goes on to the halt check).",
         (ADV,), {"f93": _all(_s(SCHED, 1903, 1912)), "head": _all(_s(SCHED, 3072, 3081))}),
    Step("H6", "advance", "Read the workflow's own execution row inside the transaction.",
         (ADV,), {"f93": _all(_s(SCHED, 1916, 1925)), "head": _all(_s(SCHED, 3086, 3095))}),
    Step("H7", "advance", "Cancellation halt: if the workflow, its execution or X is canceling/cancelled, stop (finalising a cancelled workflow with nothing running).",
         (ADV,), {"f93": _all(_s(SCHED, 1931, 1976), _s(SCHED, 2436, 2451)),
                  "head": _all(_s(SCHED, 3101, 3149), _s(SCHED, 3719, 3734))},
         "Present since f93e922, not HEAD-only."),
    Step("H13", "advance", "Reconcile the completed and failed lists from the latest attempt of every child row (failures with a dispatched successor count as handled).",
         (ADV, "racesim.models.advance:reconcile"), {"head": _all(_s(SCHED, 3375, 3391), _s(SCHED, 255, 355))}),
    Step("H15", "advance", "Failure handled: X did not succeed but some successor was admitted, so T moves from the failed to the completed list.",
         (ADV,), {"head": _all(_s(SCHED, 3538, 3543))}),
    Step("H20", "advance", "COMMIT (or ROLLBACK when the advance failed).",
         (ADV_WRAP,), {"f93": _all(_s(SCHED, 1833, 1853)), "head": _all(_s(SCHED, 2954, 3006))},
         "A failing COMMIT returns at once, without an explicit ROLLBACK."),
    Step("H21", "advance", "After COMMIT, still holding the lock, publish the outbox in order; the first failure stops the rest.",
         (ADV_WRAP,), {"f93": _all(_s(SCHED, 1837, 1839)), "head": _all(_s(SCHED, 2958, 2992))},
         "HEAD re-reads each queued child for its workflow log first (2958-2984), then publishes requests, then the synthetic completion."),
    Step("H22", "advance", "Release the advisory lock and return the connection.",
         (ADV_WRAP,), {"f93": _all(_s(SCHED, 1856, 1859)), "head": _all(_s(SCHED, 3009, 3012), _s(SCHED, 3019, 3030))},
         "HEAD re-reads the workflow row after unlocking, to log its final status (3019-3030)."),
    Step("H0", "listener", "Retry hook before the advance: insert a retry row for a failed/timed-out task with a retry block, sleep the backoff in the handler, publish it, skip the advance.",
         ("racesim.models.listener:retry_hook", LISTEN), {"head": _all(_s(LISTENER, 189, 207), _s(SCHED, 1793, 1927))}),
    Step("H1", "advance", "Read the workflow's execution and action for the workflow log (outside the lock).",
         (ADV_WRAP,), {"head": _all(_s(SCHED, 2904, 2935))}),
    # ---- DISPATCH(N) (spec 3.3) ------------------------------------------------------
    Step("D1", "dispatch", "A target without an action returns success having created nothing.",
         (DISPATCH,), {"pre": _all(_s(SCHED, 419, 428)), "fix": _all(_s(SCHED, 424, 433)),
                       "f93": _all(_s(SCHED, 1044, 1053)), "head": _all(_s(SCHED, 2004, 2013))}),
    Step("D2", "dispatch", "Read the target's action by reference (missing action is an error).",
         (DISPATCH,), {"pre": _all(_s(SCHED, 431, 445)), "fix": _all(_s(SCHED, 436, 450)),
                       "f93": _all(_s(SCHED, 1055, 1069)), "head": _all(_s(SCHED, 2015, 2029))}),
    Step("D3", "dispatch", "A with_items target goes to EXPAND instead.",
         (DISPATCH,), {"pre": _all(_s(SCHED, 453, 466)), "fix": _all(_s(SCHED, 458, 472)),
                       "f93": _all(_s(SCHED, 1071, 1085)), "head": _all(_s(SCHED, 2031, 2046))}),
    Step("D5", "dispatch", "Insert the successor's execution row (requested), outside any transaction.",
         (DISPATCH,), {"pre": _all(_s(SCHED, 520, 535)), "fix": _all(_s(SCHED, 527, 542))}),
    Step("D6", "dispatch", "Publish ExecutionRequested for the new row, a separate step after the insert.",
         (DISPATCH,), {"pre": _all(_s(SCHED, 545, 557)), "fix": _all(_s(SCHED, 552, 564))}),
    Step("D5'", "dispatch", "Claim the unique dispatch key (W, N, index); the claimer inserts the row and records its id, a loser waits for and reuses that row.",
         (MATERIALISE,), {"f93": _all(_s(SCHED, 1130, 1150), _s(EXEC_REPO, 385, 563)),
                                   "head": _all(_s(SCHED, 2096, 2135), _s(EXEC_REPO, 518, 696))},
         "attune re-claims a vanished key once and then errors; racesim allows up to three claims."),
    Step("D6'", "dispatch", "If the resulting row (new or reused) is still requested, queue its ExecutionRequested in the outbox.",
         (DISPATCH,), {"f93": _all(_s(SCHED, 1164, 1173)), "head": _all(_s(SCHED, 2149, 2169))},
         "HEAD: a core.ask task creates an inquiry instead (2149-2158)."),
    # ---- EXPAND(N) (spec 5) ----------------------------------------------------------
    Step("E3", "expand", "Read the item rows that already exist for (W, N), by index.",
         (EXPAND,), {"f93": _all(_s(SCHED, 1432, 1452)), "head": _all(_s(SCHED, 2454, 2474))}),
    Step("E4", "expand", "Create every item row up front, status requested (through the dispatch key in F93/HEAD).",
         (EXPAND,), {"pre": _all(_s(SCHED, 629, 702)), "fix": _all(_s(SCHED, 637, 713)),
                                 "f93": _all(_s(SCHED, 1456, 1547)), "head": _all(_s(SCHED, 2478, 2593))}),
    Step("E5", "expand", "Request the first `concurrency` items: PRE/FIX publish unconditionally, F93/HEAD queue those still requested.",
         (EXPAND,), {"pre": _all(_s(SCHED, 707, 717), _s(SCHED, 731, 763)),
                     "fix": _all(_s(SCHED, 718, 728), _s(SCHED, 742, 774)),
                     "f93": _all(_s(SCHED, 1549, 1565), _s(SCHED, 1639, 1661)),
                     "head": _all(_s(SCHED, 2595, 2611), _s(SCHED, 2718, 2740))}),
    # ---- completion listener (spec 3.2) ----------------------------------------------
    Step("L0", "listener", "Take the next ExecutionCompleted delivery; the handler runs to the end before the next one.",
         (LISTEN,), {"pre": _all(_s(CONSUMER, 98, 140)), "fix": _all(_s(CONSUMER, 98, 140)),
                     "f93": _all(_s(CONSUMER, 98, 140)), "head": _all(_s(CONSUMER, 101, 143))}),
    Step("L1", "listener", "Re-read X from the database (the payload's status is ignored); a read error dead-letters the message.",
         (LISTEN,), {"pre": _all(_s(LISTENER, 116, 117)), "fix": _all(_s(LISTENER, 116, 117)),
                     "f93": _all(_s(LISTENER, 136)), "head": _all(_s(LISTENER, 169, 173))}),
    Step("L3", "listener", "A broker/transport error from the advance nacks the delivery with requeue (redelivered later).",
         (LISTEN,), {"f93": _all(_s(LISTENER, 160, 161), _s(CONSUMER, 155, 181)),
                     "head": _all(_s(LISTENER, 222, 224), _s(CONSUMER, 158, 184))},
         "PRE/FIX log and swallow every advance error; nothing is requeued on purpose."),
    Step("L4", "listener", "Ack the delivery once the handler returned.",
         (LISTEN,), {"pre": _all(_s(CONSUMER, 141, 153)), "fix": _all(_s(CONSUMER, 141, 153)),
                     "f93": _all(_s(CONSUMER, 141, 153)), "head": _all(_s(CONSUMER, 144, 156))}),
    # ---- worker (spec 3.1) -----------------------------------------------------------
    Step("W1", "worker", "Take a dispatch, wait for a concurrency permit, spawn the run and ack at once (before running).",
         (WORKER_SLOT,), {"pre": _all(_s(W_SERVICE, 741, 786)), "fix": _all(_s(W_SERVICE, 741, 786)),
                          "f93": _all(_s(W_SERVICE, 857, 907)), "head": _all(_s(W_SERVICE, 1171, 1222))}),
    Step("W2", "worker", "Pre-check: skip a row already canceling/cancelled (canceling: announce cancelled without writing it).",
         (RUN,), {"f93": _all(_s(W_SERVICE, 970, 1004)), "head": _all(_s(W_SERVICE, 1285, 1319))},
         "Present since f93e922; the spec calls it HEAD-only."),
    Step("W3", "worker", "Read the row and publish ExecutionStatusChanged(running); a publish failure is only logged.",
         (RUN,), {"pre": _all(_s(W_SERVICE, 825, 837), _s(W_SERVICE, 916, 963)),
                  "fix": _all(_s(W_SERVICE, 825, 837), _s(W_SERVICE, 916, 963)),
                  "f93": _all(_s(W_SERVICE, 1007, 1019), _s(W_SERVICE, 1232, 1280)),
                  "head": _all(_s(W_SERVICE, 1322, 1334), _s(W_SERVICE, 1547, 1595))}),
    Step("W4", "worker", "Write status running and started_at, with no precondition on the current status.",
         (RUN,), {"pre": _all(_s(W_EXEC, 96, 102), _s(W_EXEC, 913, 938)),
                  "fix": _all(_s(W_EXEC, 96, 102), _s(W_EXEC, 899, 924)),
                  "f93": _all(_s(W_EXEC, 113, 119), _s(W_EXEC, 984, 1013)),
                  "head": _all(_s(W_EXEC, 210, 216), _s(W_EXEC, 1873, 1902))},
         "F93/HEAD read the row just before this write (one more interleaving point)."),
    Step("W5", "worker", "Load the row and its action, then run the action (the task's duration).",
         (RUN,), {"pre": _all(_s(W_EXEC, 105, 141)), "fix": _all(_s(W_EXEC, 105, 141)),
                  "f93": _all(_s(W_EXEC, 122, 161)), "head": _all(_s(W_EXEC, 219, 310))}),
    Step("W6", "worker", "Write the terminal status (completed or failed) and the result, unconditionally.",
         (RUN,), {"pre": _all(_s(W_EXEC, 165, 170), _s(W_EXEC, 767, 810), _s(W_EXEC, 813, 910)),
                  "fix": _all(_s(W_EXEC, 165, 170), _s(W_EXEC, 753, 796), _s(W_EXEC, 799, 896)),
                  "f93": _all(_s(W_EXEC, 194, 199), _s(W_EXEC, 791, 834), _s(W_EXEC, 837, 936)),
                  "head": _all(_s(W_EXEC, 368, 373), _s(W_EXEC, 1590, 1642), _s(W_EXEC, 1694, 1812))}),
    Step("W7", "worker", "Read the row and publish ExecutionStatusChanged with the final status; failures only logged.",
         (RUN,), {"pre": _all(_s(W_SERVICE, 848, 859), _s(W_SERVICE, 881, 892)),
                  "fix": _all(_s(W_SERVICE, 848, 859), _s(W_SERVICE, 881, 892)),
                  "f93": _all(_s(W_SERVICE, 1075, 1086), _s(W_SERVICE, 1109, 1120)),
                  "head": _all(_s(W_SERVICE, 1390, 1401), _s(W_SERVICE, 1424, 1435))}),
    Step("W8", "worker", "Read the row and publish ExecutionCompleted; no retry and no outbox if it fails.",
         (RUN,), {"pre": _all(_s(W_SERVICE, 862, 875), _s(W_SERVICE, 966, 1017)),
                  "fix": _all(_s(W_SERVICE, 862, 875), _s(W_SERVICE, 966, 1017)),
                  "f93": _all(_s(W_SERVICE, 1089, 1102), _s(W_SERVICE, 1283, 1334)),
                  "head": _all(_s(W_SERVICE, 1404, 1417), _s(W_SERVICE, 1598, 1649))}),
    # ---- scheduler (spec 3.3, child scheduling) ---------------------------------------
    Step("S0", "scheduler", "Take the next ExecutionRequested delivery (one sequential consumer per executor).",
         (SCHEDULER,), {"pre": _all(_s(SCHED, 166, 187)), "fix": _all(_s(SCHED, 148, 169)),
                        "f93": _all(_s(SCHED, 167, 213)), "head": _all(_s(SCHED, 475, 527))}),
    Step("S1", "scheduler", "Read the row. F93/HEAD: a fresh `scheduling` row is requeued, a stale one reclaimed, any other non-requested row dropped.",
         (SCHEDULER, CLAIM), {"pre": _all(_s(SCHED, 206, 208)), "fix": _all(_s(SCHED, 188, 190)),
                              "f93": _all(_s(SCHED, 230, 284)), "head": _all(_s(SCHED, 546, 605))}),
    Step("S2", "scheduler", "PRE/FIX: read the action (a workflow action starts a nested workflow). F93/HEAD: compare-and-set requested -> scheduling, then read the action.",
         (SCHEDULER, CLAIM), {"pre": _all(_s(SCHED, 211, 227)), "fix": _all(_s(SCHED, 193, 209)),
                              "f93": _all(_s(SCHED, 286, 300), _s(SCHED, 324, 344), _s(SCHED, 549, 613)),
                              "head": _all(_s(SCHED, 613, 626), _s(SCHED, 648, 668), _s(SCHED, 900, 976))},
         "A losing claim re-reads the row and requeues while the winner is still `scheduling`."),
    Step("S3", "scheduler", "Pick a worker round-robin among those with a fresh heartbeat (90 s); none: PRE/FIX dead-letter the request, F93/HEAD fail the row and publish its completion. F93/HEAD: then compare-and-set scheduling -> scheduled with the worker; if the row left scheduling meanwhile, ack the request and send nothing.",
         (SCHEDULER,), {"pre": _all(_s(SCHED, 230)), "fix": _all(_s(SCHED, 212)),
                        "f93": _all(_s(SCHED, 444, 514)), "head": _all(_s(SCHED, 776, 858))}),
    Step("S4", "scheduler", "PRE/FIX: write status scheduled from the snapshot, no precondition. F93/HEAD: publish to the worker (revert to requested if that fails).",
         (SCHEDULER,), {"pre": _all(_s(SCHED, 238, 242)), "fix": _all(_s(SCHED, 237, 241)),
                        "f93": _all(_s(SCHED, 517, 538)), "head": _all(_s(SCHED, 862, 889))}),
    Step("S5", "scheduler", "PRE/FIX: publish the dispatch to the chosen worker's queue.",
         (SCHEDULER,), {"pre": _all(_s(SCHED, 245, 253), _s(SCHED, 1549, 1584)),
                        "fix": _all(_s(SCHED, 244, 252), _s(SCHED, 1628, 1663))}),
    Step("S6", "scheduler", "Ack when scheduling succeeded; on error nack (requeue only for retriable errors).",
         (SCHEDULER,), {"pre": _all(_s(CONSUMER, 140, 181)), "fix": _all(_s(CONSUMER, 140, 181)),
                        "f93": _all(_s(CONSUMER, 140, 181)), "head": _all(_s(CONSUMER, 143, 184))}),
    # ---- workflow start ----------------------------------------------------------------
    Step("start", "starter", "The API inserts the workflow's execution (requested) and requests it; the scheduler that takes the request creates the workflow_execution row, marks the execution running and dispatches entry tasks one by one outside any lock.",
         (START, "racesim.models.starter:request_workflow"), {"pre": _all(_s(SCHED, 270, 405)), "fix": _all(_s(SCHED, 269, 405)),
                    "f93": _all(_s(SCHED, 622, 771), _s(SCHED, 774, 850)),
                    "head": _all(_s(SCHED, 985, 1183), _s(SCHED, 1186, 1265))},
         "An entry dispatch error aborts the remaining entries in attune; racesim's start continues with the next."),
    # ---- HEAD recovery actors (spec 3.4 and 10; optional: head+recovery) ---------------
    Step("R0", "recovery", "Timeout monitor: wait one check interval (60 s) between passes, on every replica.",
         ("racesim.models.recovery:timeout_monitor",), {"pre": _all(_s(TIMEOUT, 75, 97)), "fix": _all(_s(TIMEOUT, 75, 97)),
                                                     "f93": _all(_s(TIMEOUT, 78, 100)), "head": _all(_s(TIMEOUT, 71, 99))},
         "attune's interval ticks once at start; racesim starts with the wait (a pass at t = 0 finds nothing stale)."),
    Step("R1", "recovery", "Timeout monitor: rows scheduled and not updated for 300 s -> compare-and-set to failed, then publish a completion.",
         ("racesim.models.recovery:timeout_monitor",),
         {"pre": _all(_s(TIMEOUT, 100, 148), _s(TIMEOUT, 159, 207), _s(TIMEOUT, 210, 228)),
          "fix": _all(_s(TIMEOUT, 100, 148), _s(TIMEOUT, 159, 207), _s(TIMEOUT, 210, 228)),
          "f93": _all(_s(TIMEOUT, 103, 151), _s(TIMEOUT, 162, 217), _s(TIMEOUT, 220, 238)),
          "head": _all(_s(TIMEOUT, 102, 150), _s(TIMEOUT, 161, 216), _s(TIMEOUT, 219, 241))},
         "PRE/FIX write failed with no status precondition (F93 adds the compare-and-set), and before HEAD the completion is a private payload the listener cannot decode, so no advance follows. racesim models the HEAD form, under head+recovery."),
    Step("R2", "recovery", "Dead-worker reconciliation: running rows on a missing/inactive worker or one silent for 90 s -> CAS running to abandoned, publish a completion.",
         ("racesim.models.recovery:timeout_monitor",), {"head": _all(_s(TIMEOUT, 243, 274), _s(TIMEOUT, 276, 289), _s(TIMEOUT, 291, 377))}),
    Step("R3", "recovery", "Supervisor: rows non-terminal (or running on a dead or null worker) and not updated for 2 h -> abandoned (canceling -> cancelled), publish a completion.",
         ("racesim.models.recovery:supervisor",), {"head": _all(_s(SUPERVISOR, 705, 770), _s(MAINT, 333, 366))},
         "The null-worker clause matches every workflow's own execution, written only at completion."),
    Step("R4", "recovery", "Supervisor workflow rule: copy a terminal parent status onto a stale workflow; fail a stale workflow whose children are all terminal with one failed/abandoned, and publish its completion.",
         ("racesim.models.recovery:supervisor",), {"head": _all(_s(SUPERVISOR, 676, 700), _s(MAINT, 599, 683))}),
    Step("Q1", "broker", "A dispatch still ready in a worker queue after the queue's message TTL (300 s) expires; the dead-letter exchange routes it nowhere, so it is dropped and its row stays scheduled.",
         ("racesim.sim.broker:SimBroker._expire",),
         {"pre": _all(_s(CONN, 482, 495), _s(CONN, 360, 382)), "fix": _all(_s(CONN, 482, 495), _s(CONN, 360, 382)),
          "f93": _all(_s(CONN, 482, 495), _s(CONN, 360, 382)), "head": _all(_s(CONN, 508, 521), _s(CONN, 386, 408))},
         "The dead-letter exchange is declared direct and its queue bound with '#', which a direct exchange matches only literally; dead letters keep their own routing key, so RabbitMQ drops them and the dead-letter handler never runs (tests/test_broker_dead_letters.py)."),
)
# fmt: on

BY_LABEL: dict[str, Step] = {step.label: step for step in STEPS}

LABEL_PATTERN = re.compile(r"^(?:[A-Z]{1,2}\d{1,2}[a-z]?'?|start)$")


def normalise_version(version: str) -> str:
    v = version.strip().lower()
    if v in VERSIONS:
        return v
    if v in VERSION_ALIASES:
        return VERSION_ALIASES[v]
    raise ValueError(f"unknown version {version!r} (choose from: {', '.join(VERSIONS)})")


def version_for(guards_name: str) -> str | None:
    """The attune version a guard-set name reproduces (``head+recovery`` -> ``head``), or None
    for a set that is not a released version (``layer1``, ``lock+dedupe``, ``head+no-reconcile``)."""
    base, _, rest = guards_name.strip().lower().partition("+")
    try:
        version = normalise_version(base)
    except ValueError:
        return None
    ablated = any(part.strip().startswith(("no-", "no_")) for part in rest.split("+") if part)
    return None if ablated else version


def version_of(guards: Guards) -> str:
    """The version whose attune lines best describe a run under ``guards``: an exact version
    switch set maps to itself; an ablation maps to the version it was cut from (any HEAD-only
    switch -> ``head``, the lock -> ``f93``, a Layer -> ``fix``, nothing -> ``pre``)."""
    on = set(guards.switches) - set(OPTIONAL_SWITCHES)
    for version in VERSIONS:
        if on == set(NAMED_SETS[version]):
            return version
    if on & (set(HEAD_SWITCHES) | {"release_one"}):
        return "head"
    if guards.lock or guards.dedupe or guards.claim:
        return "f93"
    return "fix" if guards.layer1 or guards.layer2 else "pre"


def step(label: str) -> Step:
    try:
        return BY_LABEL[label]
    except KeyError:
        raise KeyError(f"no step {label!r} in the step map") from None


def anchor(label: str) -> str:
    """The HTML id of a step's section in docs/step-map.md (``D5'`` -> ``step-d5-prime``)."""
    return "step-" + label.lower().replace("'", "-prime")


def doc_link(label: str, doc: str = DOC_PATH) -> str:
    return f"{doc}#{anchor(label)}"


@cache
def _repo_root() -> Path:
    """The checkout root (or, installed, the racesim package): models/ lives right below it."""
    return Path(__file__).resolve().parent.parent


@cache
def _resolve(target: str) -> tuple[Path, list[str], int]:
    """Source file, source lines and first line of the function named ``module:qualname``."""
    module_name, _, qualname = target.partition(":")
    obj: object = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    func = inspect.unwrap(cast(Callable[..., object], obj))
    lines, first = inspect.getsourcelines(func)
    return Path(inspect.getsourcefile(func) or ""), lines, first


def _label_line(label: str, lines: list[str], first: int) -> int | None:
    """The function-body line that performs the step: the first op yielded with the label as a
    string, else the first line naming it (a comment such as ``# P11a``)."""
    quoted = re.compile(f"\"{re.escape(label)}\"|'{re.escape(label)}'")
    token = re.compile(r"(?<![A-Za-z0-9_'])" + re.escape(label) + r"(?![A-Za-z0-9_'])")
    for pattern in (quoted, token):
        for offset, text in enumerate(lines):
            if offset and pattern.search(text):
                return first + offset
    return None


def racesim_ref(label: str, target: str | None = None) -> RacesimRef | None:
    """Where racesim performs the step (its first target by default), resolved from the code.

    None when racesim does not model the step. Raises LookupError when the mapped function
    no longer names the label: the map is stale.
    """
    targets = step(label).racesim
    if target is None:
        if not targets:
            return None
        target = targets[0]
    path, lines, first = _resolve(target)
    line = _label_line(label, lines, first)
    if line is None:
        raise LookupError(f"{target} does not name step {label!r}; update models/step_map.py")
    try:
        shown = path.resolve().relative_to(_repo_root()).as_posix()
    except ValueError:
        shown = path.as_posix()
    return RacesimRef(target, shown, line, str(path.resolve()))


def lookup(label: str, version: str) -> StepRef:
    """Everything a report cites for one step label at one version."""
    entry = step(label)
    v = normalise_version(version)
    sha = COMMITS[v][1]
    spans = entry.attune.get(v, ())
    refs = tuple(AttuneRef(v, sha, span) for span in spans)
    return StepRef(label, v, entry.summary, racesim_ref(label), refs[0] if refs else None, refs[1:])


def labels() -> tuple[str, ...]:
    return tuple(BY_LABEL)


# ---- rendering docs/step-map.md ---------------------------------------------------------


def _cell(entry: Step, version: str) -> str:
    spans = entry.attune.get(version)
    if not spans:
        return "-"
    sha = COMMITS[version][1]
    return "; ".join(f"[{s.location}]({s.permalink(sha)})" for s in spans)


def render_markdown(steps: Iterable[Step] = STEPS) -> str:
    """docs/step-map.md: one table row per label, then one section per label with an anchor."""
    steps = tuple(steps)
    out: list[str] = [
        "# Step map",
        "",
        "<!-- Generated by `python -m racesim.models.step_map --markdown > docs/step-map.md`;",
        "     edit models/step_map.py, not this file. -->",
        "",
        "Every step label the models use, what it does, where racesim performs it and where attune",
        "performs it at each modelled commit. attune locations are `path:line` inside attune's",
        f"repository ({ATTUNE_REPO}) and link to that commit; `-` means the step does not exist",
        "in that version. racesim's side names the model function; reports resolve its current line",
        "from the code (`racesim.models.step_map.lookup`), so this page does not go stale when models change.",
        "The system and the versions are described in [model.md](model.md).",
        "",
        "| version | commit |",
        "|---|---|",
    ]
    for version in VERSIONS:
        name, sha = COMMITS[version]
        out.append(f"| `{version}` | [{name}]({ATTUNE_REPO}/commit/{sha}) |")
    out += ["", "## Summary", "", "| step | actor | racesim | " + " | ".join(COMMITS[v][0] for v in VERSIONS) + " |"]
    out.append("|---" * (3 + len(VERSIONS)) + "|")
    for entry in steps:
        code = _code_cell(entry.racesim[:1])
        cells = " | ".join(_short_cell(entry, v) for v in VERSIONS)
        out.append(f"| [{_md_label(entry.label)}](#{anchor(entry.label)}) | {entry.actor} | {code} | {cells} |")
    out += ["", "## Steps", ""]
    for entry in steps:
        out.append(f'<a id="{anchor(entry.label)}"></a>')
        out.append("")
        out.append(f"### {_md_label(entry.label)}")
        out.append("")
        out.append(f"{entry.summary}")
        out.append("")
        if entry.note:
            out.append(f"Note: {entry.note}")
            out.append("")
        out.append(f"- racesim: {_code_cell(entry.racesim)}")
        for version in VERSIONS:
            out.append(f"- {COMMITS[version][0]}: {_cell(entry, version)}")
        out.append("")
    return "\n".join(out)


def _short_cell(entry: Step, version: str) -> str:
    spans = entry.attune.get(version)
    if not spans:
        return "-"
    first = spans[0]
    return f"[{first.path.rsplit('/', 1)[-1]}:{_lines(first)}]({first.permalink(COMMITS[version][1])})"


def _code_cell(targets: tuple[str, ...]) -> str:
    """racesim functions by file and name only: line numbers would go stale with every model edit."""
    if not targets:
        return "not modelled"
    cells = []
    for target in targets:
        module, _, qualname = target.partition(":")
        path = module.removeprefix("racesim.").replace(".", "/") + ".py"
        cells.append(f"[`{path}` `{qualname}`](../{path})")
    return ", ".join(cells)


def _lines(span: Span) -> str:
    return str(span.start) if span.start == span.end else f"{span.start}-{span.end}"


def _md_label(label: str) -> str:
    return label.replace("'", "&#39;")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args != ["--markdown"]:
        print("usage: python -m racesim.models.step_map --markdown", file=sys.stderr)
        return 2
    sys.stdout.write(render_markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

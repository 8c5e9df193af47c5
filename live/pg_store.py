"""Every op of ``models/ops.py`` as SQL on PostgreSQL, with the predicates attune uses.

The sibling queries are the ones in attune's ``scheduler.rs`` (JSON sub-fields compared as
text, statuses as literals); the serialized path uses raw ``BEGIN``/``COMMIT`` and session
advisory locks on the actor's own connection, exactly like ``advance_workflow`` at f93e922.
One ``PgStore`` is one session: never share it between threads.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from importlib import resources
from typing import Any, cast

import psycopg
from psycopg.types.json import Jsonb
from racesim.models import ops
from racesim.models.graph import Graph, Node, Transition
from racesim.models.ops import StoreError
from racesim.models.rows import ChildRows, ExecRow, WorkflowRow, WorkflowTask
from racesim.models.statuses import FINISHED, IN_FLIGHT, ITEM_FAILED, RECOVERY_TERMINAL, REQUESTED, WORKFLOW_TERMINAL


def _in(statuses: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{s}'" for s in statuses) + ")"


# The sibling predicate of every with_items query: (W as text, task name).
_SIBLINGS = "workflow_task->>'workflow_execution' = %s::text AND workflow_task->>'task_name' = %s"
_EXEC_COLUMNS = "id, action_ref, parent, status, workflow_task, result, worker, extract(epoch FROM updated)::float8"
_WF_COLUMNS = "id, execution, status, completed_tasks, failed_tasks, current_tasks, variables, error_message, task_graph"
_WF_WRITABLE = ("status", "completed_tasks", "failed_tasks", "current_tasks", "variables", "error_message")

SQL = {
    "in_flight": f"SELECT COUNT(*) FROM execution WHERE {_SIBLINGS} AND status IN {_in(IN_FLIGHT)} AND id != %s",
    # attune orders by the integer cast only: NULL indexes sort last, ties in no set order.
    "pending": f"SELECT id FROM execution WHERE {_SIBLINGS} AND status = '{REQUESTED}' "
    "ORDER BY (workflow_task->>'task_index')::int ASC LIMIT %s",
    "remaining": f"SELECT COUNT(*) FROM execution WHERE {_SIBLINGS} AND status NOT IN {_in(FINISHED)} AND id != %s",
    "any_failed": f"SELECT EXISTS (SELECT id FROM execution WHERE {_SIBLINGS} AND status IN {_in(ITEM_FAILED)} LIMIT 1)",
    "task_rows": f"SELECT COUNT(*) FROM execution WHERE {_SIBLINGS}",
    # attune's count_running_workflow_children: W filter only (no parent filter); the
    # completed/failed names are filtered out in memory afterwards.
    "running": "SELECT workflow_task->>'task_name' FROM execution "
    f"WHERE workflow_task->>'workflow_execution' = %s::text AND status NOT IN {_in(FINISHED)}",
    "children": f"SELECT {_EXEC_COLUMNS} FROM execution WHERE parent = %s ORDER BY id",
    "item_rows": f"SELECT (workflow_task->>'task_index')::int FROM execution WHERE {_SIBLINGS} ORDER BY id",
}


def schema_sql() -> str:
    return resources.files("racesim.live").joinpath("schema.sql").read_text(encoding="utf-8")


# ---- conversions -------------------------------------------------------------------------
def task_json(wt: WorkflowTask | None) -> Jsonb | None:
    if wt is None:
        return None
    return Jsonb(
        {
            "workflow_execution": wt.workflow_execution,
            "task_name": wt.task_name,
            "task_index": wt.task_index,
            "triggered_by": wt.triggered_by,
            "retry_count": wt.retry_count,
        }
    )


def task_from(data: dict | None) -> WorkflowTask | None:
    if data is None:
        return None
    return WorkflowTask(
        int(data["workflow_execution"]),
        data["task_name"],
        data.get("task_index"),
        data.get("triggered_by"),
        int(data.get("retry_count") or 0),
    )


def exec_row(r: tuple) -> ExecRow:
    return ExecRow(r[0], r[1], r[2], r[3], task_from(r[4]), r[5], r[6], r[7])


def graph_json(graph: Graph | None) -> Jsonb | None:
    if graph is None:
        return None
    nodes = [
        {
            "name": n.name,
            "action": n.action,
            "with_items": n.with_items,
            "concurrency": n.concurrency,
            "join": n.join,
            "transitions": [
                {"kind": t.kind, "do": list(t.do), "publish": [list(p) for p in t.publish], "when": t.when} for t in n.transitions
            ],
        }
        for n in graph.nodes.values()
    ]
    return Jsonb({"nodes": nodes})


def graph_from(data: dict | None) -> Graph | None:
    if data is None:
        return None
    return Graph.build(
        [
            Node(
                n["name"],
                n["action"],
                n["with_items"],
                n["concurrency"],
                n["join"],
                tuple(
                    Transition(t["kind"], tuple(t["do"]), tuple(tuple(p) for p in t["publish"]), t["when"])
                    for t in n["transitions"]
                ),
            )
            for n in data["nodes"]
        ]
    )


def workflow_row(r: tuple, graphs: dict[str, Graph | None] | None = None) -> WorkflowRow:
    graph_data = r[8]
    if graphs is None:
        graph = graph_from(graph_data)
    else:  # the snapshot never changes during a run: parse it once
        key = json.dumps(graph_data, sort_keys=True)
        if key not in graphs:
            graphs[key] = graph_from(graph_data)
        graph = graphs[key]
    return WorkflowRow(r[0], r[1], r[2], tuple(r[3]), tuple(r[4]), tuple(r[5]), tuple((r[6] or {}).items()), r[7], graph)


def _column_value(column: str, value: Any) -> object:
    if column == "variables":
        return Jsonb(dict(value))  # a tuple of (name, value) pairs
    if column.endswith("_tasks"):
        return list(value)
    return value


# ---- the store -------------------------------------------------------------------------------
class PgStore:
    """Executes ops on one connection. ``clock`` stamps ``updated`` (epoch seconds) so the
    differential test can pin time; live runs use the wall clock."""

    def __init__(self, conn: psycopg.Connection, workers: tuple[int, ...] = (1,), clock: Callable[[], float] = time.time) -> None:
        self.conn = conn
        self.workers = workers
        self.clock = clock
        self._graphs: dict[str, Graph | None] = {}
        self.handlers: dict[type, Callable[[Any], object]] = {cls: getattr(self, name) for cls, name in ops.DB_OPS.items()}
        self.handlers[ops.AdvisoryLock] = self.advisory_lock
        self.handlers[ops.AdvisoryUnlock] = self.advisory_unlock

    def execute(self, op: ops.Op) -> object:
        """Run one op; database errors surface as ``StoreError`` (not transport errors)."""
        try:
            return self.handlers[type(op)](op)
        except psycopg.Error as exc:
            raise StoreError(f"{type(op).__name__}: {type(exc).__name__}: {exc}".strip()) from exc

    def _one(self, sql: str, params: tuple | dict = ()) -> tuple | None:
        return self.conn.execute(sql, params).fetchone()

    def _now(self) -> float:
        return self.clock()

    # ---- execution table -----------------------------------------------------------------
    def read_execution(self, op: ops.ReadExecution) -> ExecRow:
        r = self._one(f"SELECT {_EXEC_COLUMNS} FROM execution WHERE id = %s", (op.execution_id,))
        if r is None:
            raise StoreError(f"execution {op.execution_id} not found")
        return exec_row(r)

    def insert_execution(self, op: ops.InsertExecution) -> int:
        r = self._one(
            "INSERT INTO execution (action_ref, parent, status, workflow_task, updated) "
            "VALUES (%s, %s, %s, %s, to_timestamp(%s)) RETURNING id",
            (op.action_ref, op.parent, op.status, task_json(op.workflow_task), self._now()),
        )
        return r[0]  # type: ignore[index]

    def set_execution_status(self, op: ops.SetExecutionStatus) -> None:
        # The worker's write: keyed on id only, no status precondition; result only if given.
        cur = self.conn.execute(
            "UPDATE execution SET status = %s, result = COALESCE(%s, result), updated = to_timestamp(%s) WHERE id = %s",
            (op.status, None if op.result is None else Jsonb(op.result), self._now(), op.execution_id),
        )
        if cur.rowcount == 0:
            raise StoreError(f"execution {op.execution_id} not found")

    def write_execution_row(self, op: ops.WriteExecutionRow) -> None:
        # ExecutionRepository::update from the S1 snapshot: each non-null field written,
        # keyed on id only (spec-check 7); the new status and worker always given.
        snap = op.snapshot
        cur = self.conn.execute(
            "UPDATE execution SET status = %s, result = COALESCE(%s, result), worker = %s, "
            "workflow_task = COALESCE(%s, workflow_task), updated = to_timestamp(%s) WHERE id = %s",
            (
                op.status,
                None if snap.result is None else Jsonb(snap.result),
                op.worker,
                task_json(snap.workflow_task),
                self._now(),
                snap.id,
            ),
        )
        if cur.rowcount == 0:
            raise StoreError(f"execution {snap.id} not found")

    def cas_execution_status(self, op: ops.CasExecutionStatus) -> bool:
        # claim_for_scheduling: UPDATE ... WHERE id AND status = expect (+ staleness for a reclaim).
        stale = "" if op.stale_after is None else " AND updated <= to_timestamp(%(now)s) - make_interval(secs => %(stale)s)"
        cur = self.conn.execute(
            "UPDATE execution SET status = %(new)s, worker = COALESCE(%(worker)s, worker), updated = to_timestamp(%(now)s) "
            f"WHERE id = %(id)s AND status = %(expect)s{stale}",
            {
                "new": op.new,
                "worker": op.worker,
                "now": self._now(),
                "id": op.execution_id,
                "expect": op.expect,
                "stale": op.stale_after,
            },
        )
        return cur.rowcount == 1

    def count_in_flight(self, op: ops.CountInFlight) -> int:
        return self._one(SQL["in_flight"], (str(op.workflow_execution), op.task_name, op.exclude_id))[0]  # type: ignore[index]

    def select_pending(self, op: ops.SelectPending) -> tuple[int, ...]:
        rows = self.conn.execute(SQL["pending"], (str(op.workflow_execution), op.task_name, op.limit)).fetchall()
        return tuple(r[0] for r in rows)

    def count_remaining(self, op: ops.CountRemaining) -> int:
        return self._one(SQL["remaining"], (str(op.workflow_execution), op.task_name, op.exclude_id))[0]  # type: ignore[index]

    def any_item_failed(self, op: ops.AnyItemFailed) -> bool:
        return self._one(SQL["any_failed"], (str(op.workflow_execution), op.task_name))[0]  # type: ignore[index]

    def count_task_rows(self, op: ops.CountTaskRows) -> int:
        return self._one(SQL["task_rows"], (str(op.workflow_execution), op.task_name))[0]  # type: ignore[index]

    def count_running(self, op: ops.CountRunning) -> int:
        decided = set(op.completed) | set(op.failed)
        rows = self.conn.execute(SQL["running"], (str(op.workflow_execution),)).fetchall()
        return sum(1 for (name,) in rows if name not in decided)

    def read_children(self, op: ops.ReadChildren) -> ChildRows:
        return ChildRows(exec_row(r) for r in self.conn.execute(SQL["children"], (op.parent,)).fetchall())

    # ---- HEAD recovery scans (models/recovery.py); workers here never stop beating, so a
    # running row is dead only when its worker id is unknown ----------------------------------
    def recovery_scan(self, op: ops.RecoveryScan) -> tuple[tuple[tuple[int, str], ...], bool]:
        workers = list(self.workers)
        old = "extract(epoch FROM (clock_timestamp() - updated)) > %(age)s"
        dead = "(worker IS NULL OR NOT (worker = ANY(%(workers)s)))"
        where = {
            "timeout": f"status = 'scheduled' AND {old}",
            "dead_worker": "status = 'running' AND worker IS NOT NULL AND NOT (worker = ANY(%(workers)s))",
            "supervisor": f"{old} AND (status IN ('requested', 'scheduling', 'scheduled', 'canceling') "
            f"OR (status = 'running' AND {dead}))",
        }[op.rule]
        params = {"age": op.age, "workers": workers, "limit": op.limit}
        rows = self.conn.execute(f"SELECT id, status FROM execution WHERE {where} ORDER BY id LIMIT %(limit)s", params)
        found = tuple((int(r[0]), str(r[1])) for r in rows.fetchall())
        still_open = self._one(
            f"SELECT EXISTS (SELECT 1 FROM execution WHERE workflow_task IS NOT NULL AND status NOT IN {_in(RECOVERY_TERMINAL)}) "
            f"OR EXISTS (SELECT 1 FROM workflow_execution WHERE status NOT IN {_in(WORKFLOW_TERMINAL)})"
        )
        return found, bool(still_open and still_open[0])

    def stale_workflows(self, op: ops.StaleWorkflows) -> tuple[tuple[int, int, str, bool], ...]:
        terminal = _in(RECOVERY_TERMINAL)
        rows = self.conn.execute(
            "SELECT wf.id, wf.execution, p.status, "
            f"EXISTS (SELECT 1 FROM execution c WHERE c.parent = p.id AND c.status NOT IN {terminal}), "
            f"EXISTS (SELECT 1 FROM execution c WHERE c.parent = p.id AND c.status IN {terminal} AND c.status != 'completed') "
            "FROM workflow_execution wf JOIN execution p ON p.id = wf.execution "
            f"WHERE wf.status NOT IN {_in(WORKFLOW_TERMINAL)} "
            "AND extract(epoch FROM (clock_timestamp() - wf.updated)) > %s ORDER BY wf.id LIMIT %s",
            (op.age, op.limit),
        ).fetchall()
        out: list[tuple[int, int, str, bool]] = []
        for w, execution, status, open_child, failed_child in rows:
            if status in RECOVERY_TERMINAL:
                out.append((int(w), int(execution), str(status), False))
            elif failed_child and not open_child:
                out.append((int(w), int(execution), "failed", True))
        return tuple(out)

    def read_item_rows(self, op: ops.ReadItemRows) -> tuple[int, ...]:
        rows = self.conn.execute(SQL["item_rows"], (str(op.workflow_execution), op.task_name)).fetchall()
        return tuple(r[0] for r in rows)

    def round_trip(self, op: ops.Op) -> None:
        """Reads the model takes no data from (action, definition): keep their round trip."""
        self.conn.execute("SELECT 1")
        return None

    read_action = read_definition = round_trip

    def read_workers(self, op: ops.ReadWorkers) -> tuple[int, ...]:
        self.conn.execute("SELECT 1")
        return self.workers

    # ---- workflow_execution ----------------------------------------------------------------
    def insert_workflow_execution(self, op: ops.InsertWorkflowExecution) -> int:
        r = self._one(
            "INSERT INTO workflow_execution (execution, task_graph, status, updated) "
            "VALUES (%s, %s, 'running', to_timestamp(%s)) RETURNING id",
            (op.execution, graph_json(cast("Graph | None", op.task_graph)), self._now()),
        )
        return r[0]  # type: ignore[index]

    def read_workflow_execution(self, op: ops.ReadWorkflowExecution) -> WorkflowRow:
        lock = " FOR UPDATE" if op.for_update else ""
        r = self._one(f"SELECT {_WF_COLUMNS} FROM workflow_execution WHERE id = %s{lock}", (op.workflow_execution,))
        if r is None:
            raise StoreError(f"workflow_execution {op.workflow_execution} not found")
        return workflow_row(r, self._graphs)

    def update_workflow_execution(self, op: ops.UpdateWorkflowExecution) -> None:
        # Each supplied column is written as a complete new value: no append, no CAS.
        sets, params = [], []
        for column, value in op.changes:
            if column not in _WF_WRITABLE:
                raise StoreError(f"workflow_execution has no writable column {column!r}")
            sets.append(f"{column} = %s")
            params.append(_column_value(column, value))
        sets.append("updated = to_timestamp(%s)")
        params.extend([self._now(), op.workflow_execution])
        self.conn.execute(f"UPDATE workflow_execution SET {', '.join(sets)} WHERE id = %s", params)

    # ---- workflow_task_dispatch --------------------------------------------------------------
    def insert_dispatch_key(self, op: ops.InsertDispatchKey) -> bool:
        r = self._one(
            "INSERT INTO workflow_task_dispatch (workflow_execution, task_name, task_index) VALUES (%s, %s, %s) "
            "ON CONFLICT DO NOTHING RETURNING id",
            (op.workflow_execution, op.task_name, op.task_index),
        )
        return r is not None

    def read_dispatch_key(self, op: ops.ReadDispatchKey) -> tuple[bool, int | None]:
        r = self._one(
            "SELECT execution_id FROM workflow_task_dispatch "
            "WHERE workflow_execution = %s AND task_name = %s AND COALESCE(task_index, -1) = %s FOR UPDATE",
            (op.workflow_execution, op.task_name, -1 if op.task_index is None else op.task_index),
        )
        return (False, None) if r is None else (True, r[0])

    def set_dispatch_key_execution(self, op: ops.SetDispatchKeyExecution) -> None:
        self.conn.execute(
            "UPDATE workflow_task_dispatch SET execution_id = %s "
            "WHERE workflow_execution = %s AND task_name = %s AND COALESCE(task_index, -1) = %s",
            (op.execution_id, op.workflow_execution, op.task_name, -1 if op.task_index is None else op.task_index),
        )

    # ---- transactions and advisory locks ---------------------------------------------------
    def raw(self, op: ops.Op) -> None:
        # attune issues raw BEGIN/COMMIT/ROLLBACK on an autocommit connection; so do we.
        self.conn.execute({ops.Begin: "BEGIN", ops.Commit: "COMMIT", ops.Rollback: "ROLLBACK"}[type(op)])

    begin = commit = rollback = raw

    def advisory_lock(self, op: ops.AdvisoryLock) -> None:
        self.conn.execute("SELECT pg_advisory_lock(%s)", (op.key,))

    def advisory_unlock(self, op: ops.AdvisoryUnlock) -> None:
        self.conn.execute("SELECT pg_advisory_unlock(%s)", (op.key,))


# ---- reading a whole run back ---------------------------------------------------------------
def read_workflow(conn: psycopg.Connection, w: int) -> tuple[WorkflowRow, list[ExecRow]]:
    """The workflow row and its children (parent = the workflow's execution, same W), as the
    checkers expect them from ``SimDB.workflow_children``."""
    r = conn.execute(f"SELECT {_WF_COLUMNS} FROM workflow_execution WHERE id = %s", (w,)).fetchone()
    if r is None:
        raise StoreError(f"workflow_execution {w} not found")
    we = workflow_row(r)
    rows = conn.execute(
        f"SELECT {_EXEC_COLUMNS} FROM execution "
        "WHERE parent = %s AND workflow_task->>'workflow_execution' = %s::text ORDER BY id",
        (we.execution, str(w)),
    ).fetchall()
    return we, [exec_row(x) for x in rows]


# ---- administration (throwaway databases and schemas) ---------------------------------------
DEFAULT_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


def connect(dsn: str = DEFAULT_DSN, app: str = "racesim", schema: str | None = None, **kw: Any) -> psycopg.Connection:
    """An autocommit connection; ``schema`` goes into search_path at connect time (no extra round trip)."""
    options = f"-c search_path={schema}" if schema else ""
    return psycopg.connect(dsn, autocommit=True, application_name=app, options=options, connect_timeout=5, **kw)


def with_dbname(dsn: str, dbname: str) -> str:
    return psycopg.conninfo.make_conninfo(dsn, dbname=dbname)


def create_schema(conn: psycopg.Connection, schema: str, id_base: int = 1) -> None:
    """Create ``schema`` with the model's tables. ``id_base`` starts every id sequence there,
    so advisory-lock keys (bare workflow ids, as in attune) differ between concurrent runs."""
    conn.execute(f'CREATE SCHEMA "{schema}"')
    conn.execute(f'SET search_path TO "{schema}"')
    conn.execute(schema_sql())
    for table in ("execution", "workflow_execution", "workflow_task_dispatch"):
        conn.execute(f"ALTER SEQUENCE {table}_id_seq RESTART WITH {int(id_base)}")
    conn.execute("SET search_path TO DEFAULT")


def drop_schema(conn: psycopg.Connection, schema: str) -> None:
    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

"""The load benchmark's report (bench/load/loadgen.py): which bare Bolt phase each ExitBot
phase is compared with. The benchmark itself is run by hand (BENCHMARKS.md)."""

from __future__ import annotations

from bench.load.loadgen import (
    INTERVIEW,
    PhaseResult,
    TurnRecord,
    by_step,
    one_line,
    per_batch,
    reference_of,
    steps_line,
    table,
    verdict,
)


def phase(
    target: str, load: str, rate: float, p99: float, reference: int | None = None
) -> PhaseResult:
    return PhaseResult(
        target=target,
        label=target,
        load=load,
        window=20.0,
        turns=int(rate * 20),
        rate=rate,
        p50_ms=p99 / 2,
        p99_ms=p99,
        max_ms=p99 * 2,
        errors=0,
        completed_interviews=0,
        bad_outros=0,
        machine_busy_pct=50.0,
        steal_pct=0.0,
        other_cpu_pct=0.0,
        loadgen_cpu_pct=20.0,
        target_cpu_pct=80.0,
        postgres_cpu_pct=0.0,
        target_cpu_ms_per_turn=1.0,
        ack_p50_ms=1.0,
        ack_p99_ms=2.0,
        acks_over_3s=0,
        offered=None if load == "saturated" else 50.0,
        reference=reference,
    )


def test_each_exitbot_phase_is_compared_with_the_bolt_phase_run_beside_it() -> None:
    results = [
        phase("bolt", "saturated", 2000, 10),  # the first measurement, minutes earlier
        phase("bolt", "steady", 50, 4),
        phase("bolt", "saturated", 1000, 10),  # the host got slower meanwhile
        phase("pg1", "saturated", 600, 50, reference=2),
        phase("bolt", "steady", 50, 8),
        phase("pg1", "steady", 50, 15, reference=4),
        phase("bolt", "saturated", 1200, 10),
        phase("pg3", "saturated", 660, 50, reference=6),
    ]
    assert reference_of(results, results[3]) is results[2]
    assert reference_of(results, results[5]) is results[4]
    lines = verdict(results)
    assert "ExitBot pg1" not in lines[0]  # labels are the targets' own
    assert lines[0] == "pg1: throughput 0.60× Bolt (met, target ≥ 0.5×)"
    assert lines[1] == "pg1: steady p99 1.88× Bolt (met, target ≤ 2×)"
    assert lines[2] == "pg3: throughput 0.55× Bolt (met, target ≥ 0.5×)"
    assert lines[-1] == (
        "PostgreSQL 3 replicas vs 1: 1.10× (met, target > 1×); 0.92× as ratios to the Bolt run"
        " beside each"
    )
    rows = table(results).splitlines()
    assert "| pg1 | saturated (200) | 600.0 | 25.0 | 50.0 | 0.60 | — |" in rows[5]


def test_without_a_bolt_phase_beside_the_first_of_the_same_load_is_the_reference() -> None:
    results = [
        phase("bolt", "saturated", 2000, 10),
        phase("bolt", "saturated", 1000, 10),
        phase("sqlite", "saturated", 1200, 40),
    ]
    assert reference_of(results, results[2]) is results[0]
    assert verdict(results) == ["sqlite: throughput 0.60× Bolt (met, target ≥ 0.5×)"]


def test_a_ratio_just_short_of_its_target_is_not_shown_as_the_target() -> None:
    results = [
        phase("bolt", "saturated", 1000, 10),
        phase("sqlite", "saturated", 498.4, 40),
        phase("pg1", "saturated", 500, 40),
        phase("pg3", "saturated", 499.1, 40),
    ]
    assert verdict(results) == [
        "sqlite: throughput 0.4984× Bolt (NOT met, target ≥ 0.5×)",
        "pg1: throughput 0.5000× Bolt (met, target ≥ 0.5×)",
        "pg3: throughput 0.4991× Bolt (NOT met, target ≥ 0.5×)",
        "PostgreSQL 3 replicas vs 1: 0.9982× (NOT met, target > 1×)",
    ]


def test_latency_by_turn_of_the_interview() -> None:
    # "start" turns take 10 ms, everything else 2 ms, one slow confirmation at 50 ms
    records = [TurnRecord(sent=0.0, first=0.010, acked=0.001, step=0) for _ in range(5)]
    records += [TurnRecord(sent=0.0, first=0.002, acked=0.001, step=3) for _ in range(7)]
    records.append(TurnRecord(sent=0.0, first=0.050, acked=0.001, step=len(INTERVIEW) - 1))
    rows = by_step(records, len(INTERVIEW))
    assert len(rows) == len(INTERVIEW)
    assert rows[0] == [5, 10.0, 10.0]
    assert rows[3] == [7, 2.0, 2.0]
    assert rows[-1] == [1, 50.0, 50.0]
    assert rows[1][0] == 0  # no turn of that kind in the window
    result = phase("pg1", "steady", 50.0, 50.0)
    result.by_step = rows
    line = steps_line(result)
    assert line == "p50/p99 ms by turn: start 10.0/10.0, 3 2.0/2.0, confirm 50.0/50.0"


def test_turns_per_batch_are_read_off_the_replicas_metrics_at_the_window_edges() -> None:
    # (turns, transactions) summed over the replicas' exitbot_turn_batch_size at each edge
    assert per_batch([(100.0, 10.0), (580.0, 30.0)]) == 24.0
    assert per_batch([(100.0, 10.0)]) is None  # the end was never read
    assert per_batch([(100.0, 10.0), (100.0, 10.0)]) is None  # nothing stored meanwhile
    r = phase("pg3", "saturated", 660, 50)
    assert "turns per batch" not in one_line(r)  # Bolt, or not read
    r.turns_per_batch = 7.96
    assert one_line(r).endswith("; 8.0 turns per batch")

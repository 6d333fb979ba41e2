"""Micro-benchmark: microseconds per advance() over a whole built-in interview.

Run: python bench/bench_engine.py [rounds]. Each turn includes the JSON round-trip of the
state, as the service does. Target: mean < 100 µs per turn.
"""

from __future__ import annotations

import json
import statistics
import sys
import timeit

import conversations as conv

DETAILED = "I really enjoyed the projects with customers and the freedom to organise my own days"
INPUTS: list[tuple[str, str | None]] = [
    ("", "start"),
    ("", "manager"),
    ("ok", None),
    ("He was hardly ever available and never gave any feedback on my work", None),
    ("the people", None),
    (DETAILED, None),
    ("Far too much overtime every week, and the workload kept growing all year", None),
    ("I was exhausted most evenings and weekends, with no time left for family", None),
    ("back", None),
    (DETAILED, None),
    ("2", None),
    ("idk", None),
    ("More regular one-on-ones and honest feedback would have helped a lot", None),
    ("7/10", None),
    ("", "no"),
    ("skip", None),
    ("Meer aandacht voor inwerken en een duidelijker loopbaanpad", None),
    ("help", None),
    ("nee", None),
    ("3", None),
    ("Better onboarding and clearer career paths for everyone in the team", None),
    ("", "confirm"),
]


def interview_turn_times(q: conv.Questionnaire) -> list[float]:
    """Seconds per advance() for one full interview (invite to completed)."""
    times = []
    turn = conv.invite(q, "en")
    for text, choice in INPUTS:
        state = json.loads(json.dumps(turn.state))
        timer = timeit.default_timer
        began = timer()
        turn = conv.advance(q, state, text, choice=choice)
        times.append(timer() - began)
    assert turn.status == "completed", turn.status
    return times


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    q = conv.load_builtin()
    interview_turn_times(q)  # warm caches (compiled regexes, normalised labels)
    samples = [t * 1e6 for _ in range(rounds) for t in interview_turn_times(q)]
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    print(f"turns: {len(samples)} ({rounds} interviews x {len(INPUTS)} turns)")
    print(f"mean: {statistics.fmean(samples):.1f} µs/turn")
    print(f"p50:  {samples[len(samples) // 2]:.1f} µs/turn")
    print(f"p99:  {p99:.1f} µs/turn")
    print(f"max:  {samples[-1]:.1f} µs/turn")


if __name__ == "__main__":
    main()

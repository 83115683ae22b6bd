"""Request counters and a latency histogram, rendered in the Prometheus text format.

Kept in process: with several server processes, each reports its own, as Prometheus expects from
separate targets (the process id is a label).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.latency_counts: dict[str, list[int]] = defaultdict(lambda: [0] * (len(BUCKETS) + 1))
        self.latency_sum: dict[str, float] = defaultdict(float)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests[(method, route, status)] += 1
        counts = self.latency_counts[route]
        for index, bound in enumerate(BUCKETS):
            if seconds <= bound:
                counts[index] += 1
                break
        else:
            counts[-1] += 1
        self.latency_sum[route] += seconds

    def render(
        self, queue_depth: list[tuple[str, str, int]], breaches: Sequence[tuple[str, str, int, int]] = ()
    ) -> str:
        pid = os.getpid()
        lines = [
            "# HELP agentledger_http_requests_total HTTP requests by method, route and status.",
            "# TYPE agentledger_http_requests_total counter",
        ]
        for (method, route, status), count in sorted(self.requests.items()):
            lines.append(
                f'agentledger_http_requests_total{{method="{method}",route="{_esc(route)}",status="{status}",pid="{pid}"}} {count}'
            )
        lines += [
            "# HELP agentledger_http_request_duration_seconds Time from request to response, by route.",
            "# TYPE agentledger_http_request_duration_seconds histogram",
        ]
        for route, counts in sorted(self.latency_counts.items()):
            cumulative = 0
            for bound, count in zip((*BUCKETS, float("inf")), counts, strict=False):
                cumulative += count
                le = "+Inf" if bound == float("inf") else repr(bound)
                lines.append(
                    f'agentledger_http_request_duration_seconds_bucket{{route="{_esc(route)}",le="{le}",pid="{pid}"}} {cumulative}'
                )
            lines.append(
                f'agentledger_http_request_duration_seconds_sum{{route="{_esc(route)}",pid="{pid}"}} {self.latency_sum[route]:.6f}'
            )
            lines.append(
                f'agentledger_http_request_duration_seconds_count{{route="{_esc(route)}",pid="{pid}"}} {cumulative}'
            )
        lines += [
            "# HELP agentledger_events Events in the ledger by type and status (from api.queue_stats).",
            "# TYPE agentledger_events gauge",
        ]
        for event_type, event_status, count in queue_depth:
            lines.append(f'agentledger_events{{event_type="{_esc(event_type)}",status="{event_status}"}} {count}')
        lines += [
            "# HELP agentledger_deadline_breaches Events that missed a deadline, by type and deadline (decide, review).",
            "# TYPE agentledger_deadline_breaches gauge",
        ]
        for event_type, deadline, count, _open in breaches:
            lines.append(
                f'agentledger_deadline_breaches{{event_type="{_esc(event_type)}",deadline="{deadline}"}} {count}'
            )
        lines += [
            "# HELP agentledger_deadline_breaches_open Late events not yet decided or reviewed, by type and deadline.",
            "# TYPE agentledger_deadline_breaches_open gauge",
        ]
        for event_type, deadline, _count, still_open in breaches:
            lines.append(
                f'agentledger_deadline_breaches_open{{event_type="{_esc(event_type)}",deadline="{deadline}"}} {still_open}'
            )
        return "\n".join(lines) + "\n"


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

"""How the Ray executor counts the jobs that shared a node: from each job's span on its node (no Ray
needed). The Ray tests cannot force two short jobs to overlap, so the count is checked here."""

from __future__ import annotations

from harness.results import Node
from harness.runner.executor import ChildOutcome, Outcomes
from harness.runner.ray_executor import Tracker


def test_jobs_count_the_others_that_overlapped_them_on_their_node() -> None:
    sink = Outcomes()
    tracker = Tracker(sink)
    node = Node(hostname="a", cpu="EPYC")
    for position, node_id, start in [(0, "a", 0.0), (1, "a", 5.0), (2, "b", 5.0), (3, "a", 20.0)]:
        tracker.start(position, node, node_id, start)
    for position, end in [(0, 10.0), (1, 15.0), (2, 15.0), (3, 30.0)]:
        tracker.end(position, ChildOutcome("ok"), ended=end)
    counts = {position: outcome.node.concurrent_jobs for position, outcome in sink.outcomes.items() if outcome.node}
    # 0 and 1 overlap on node a (5-10 s); 2 ran alone on node b; 3 started on a after 1 had ended
    assert counts == {0: 1, 1: 1, 2: 0, 3: 0}

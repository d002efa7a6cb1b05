"""W1, W2, W7: single-client logging round trips through the real `mlflow` client."""

from __future__ import annotations

import itertools
import time

from benchmarks.workloads.base import Figure, Quantity, Target, Workload, median_of, per_call_ms

_steps = itertools.count()  # distinct steps across repetitions, so no point is logged twice


class RoundTrips(Workload):
    id = "W1"
    tracking_api_only = True
    title = "single-client round trips"
    quantities = [
        Quantity("log_metric", "log_metric", "ms", "lower"),
        Quantity("log_param", "log_param", "ms", "lower"),
        Quantity("set_tag", "set_tag", "ms", "lower"),
    ]

    def measure(self, target: Target) -> dict[str, Figure]:
        client = target.client
        run_id = client.create_run(self.experiment(target, "bench-roundtrip")).info.run_id
        n, reps = self.sizes.w1_calls, self.sizes.reps
        params = itertools.count()
        return {
            "log_metric": median_of(
                reps, per_call_ms(n, lambda i: client.log_metric(run_id, "x", i, step=next(_steps)))
            ),
            "log_param": median_of(reps, per_call_ms(n, lambda i: client.log_param(run_id, f"p{next(params)}", i))),
            "set_tag": median_of(reps, per_call_ms(n, lambda i: client.set_tag(run_id, "t", str(i)))),
        }


class LogBatch(Workload):
    id = "W2"
    tracking_api_only = True
    title = "log_batch of 1,000 metrics"
    quantities = [
        Quantity("log_batch", "log_batch (1k metrics)", "ms", "lower"),
        Quantity("per_point", "  per point", "us", "lower"),
    ]

    def measure(self, target: Target) -> dict[str, Figure]:
        from mlflow.entities import Metric

        client = target.client
        run_id = client.create_run(self.experiment(target, "bench-roundtrip")).info.run_id
        batch = self.sizes.w2_batch

        def one() -> float:
            batches = []
            for _ in range(self.sizes.w2_calls):  # user code: building the entities is not timed
                step0 = next(_steps) * batch
                batches.append(
                    [Metric(f"m{k % 10}", k * 0.001, 1_700_000_000_000 + k, step0 + k) for k in range(batch)]
                )
            began = time.perf_counter()
            for metrics in batches:
                client.log_batch(run_id, metrics=metrics, synchronous=True)
            return (time.perf_counter() - began) * 1000 / len(batches)

        per_call = median_of(self.sizes.reps, one)
        assert per_call.value is not None
        per_point = Figure(per_call.value * 1000 / batch, [s * 1000 / batch for s in per_call.samples])
        return {"log_batch": per_call, "per_point": per_point}


class CreateLogEnd(Workload):
    id = "W7"
    tracking_api_only = True
    title = "create run + log batch (20 params, 20 metrics) + end run"
    quantities = [Quantity("cycle", "create+log_batch+end", "ms", "lower")]

    def measure(self, target: Target) -> dict[str, Figure]:
        from mlflow.entities import Metric, Param

        client = target.client
        experiment = self.experiment(target, "bench-lifecycle")
        metrics = [Metric(f"m{k}", k * 0.5, 1_700_000_000_000, 0) for k in range(20)]
        params = [Param(f"p{k}", f"value-{k}") for k in range(20)]

        def cycle(_i: int) -> None:
            run_id = client.create_run(experiment).info.run_id
            client.log_batch(run_id, metrics=metrics, params=params, synchronous=True)
            client.set_terminated(run_id)

        return {"cycle": median_of(self.sizes.reps, per_call_ms(self.sizes.w7_iters, cycle))}

"""Side-by-side benchmark of Runyard against `mlflow server` 3.17.2 (issue 5).

Run it with ``python -m benchmarks [--quick] [--backends sqlite,postgres] [--workloads W1,...]``.
It starts both servers on the same kind of backend, seeds identical data over HTTP, measures the
workloads of issue 5 through the real `mlflow` client (or a raw keep-alive HTTP load generator
where the client itself would be the bottleneck), and also times the client against a stub server
that answers at once — the *client floor*.
"""

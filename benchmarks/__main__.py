"""Entry point for ``python -m benchmarks``.

The import sits under the ``__main__`` guard on purpose: helper processes started with the
"spawn" method re-import this module, and they must not pay for importing the `mlflow` client.
"""

if __name__ == "__main__":
    from benchmarks.cli import main

    raise SystemExit(main())

"""The replicator beside a `runyard server`: a process of its own, started by the server's main
process (with `--mirror`, the default) and stopped with it.

A thread inside a server process would compete with request handling for the interpreter lock:
measured on two cores, sustained ingest fell to 0.42x while a link replicated in-process, against
0.79x with the replicator in its own process. The process still competes for the lease like every
other replicator (another host's server, a `runyard mirror`), so exactly one sends at a time. It
reads the server's settings from the environment, and exits when the server does — also when the
server was killed without a chance to stop it (its parent process is then gone).
"""

from __future__ import annotations

import logging.config
import os
import signal
import threading
from types import FrameType

from runyard.config import Settings

PARENT_CHECK_SECONDS = 1.0


def main() -> None:
    from runyard.mirror.replicator import Replicator
    from runyard.server import logging_config
    from runyard.services.container import Services

    settings = Settings.from_env()
    logging.config.dictConfig(logging_config(settings))
    parent = os.getppid()
    stopped = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    services = Services.build(settings)
    replicator = Replicator.of(services).start()
    try:
        while not stopped.wait(PARENT_CHECK_SECONDS):
            if os.getppid() != parent:
                break
    finally:
        replicator.stop()
        services.close()


if __name__ == "__main__":
    main()

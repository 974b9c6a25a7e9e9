"""The worker: takes queued jobs until stopped (Ctrl-C or SIGTERM), logging in colour.

Run it with `python -m jobs.worker`; `--once` handles the queue once and exits.
"""

import argparse
import logging
import signal
import sys
import time

from sqlalchemy import text

from jobs.db import engine

COLOURS = {"INFO": "\033[32m", "WARNING": "\033[33m", "ERROR": "\033[31m"}
RESET = "\033[0m"


class Colour(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{COLOURS.get(record.levelname, '')}{super().format(record)}{RESET}"


log = logging.getLogger("jobs.worker")
stopping = False


def stop(signum: int, frame: object) -> None:
    global stopping
    stopping = True
    log.warning("stopping on signal %d", signum)


def take_one() -> bool:
    with engine().begin() as conn:
        row = conn.execute(
            text("UPDATE jobs SET state = 'done' WHERE id = (SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1) RETURNING id")
        ).first()
    if row is not None:
        log.info("job %d done", row.id)
    return row is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jobs.worker")
    parser.add_argument("--once", action="store_true", help="handle the queue once and exit")
    args = parser.parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(Colour("%(levelname)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("worker started")
    while not stopping:
        while take_one():
            pass
        if args.once:
            break
        time.sleep(0.5)
    log.info("worker stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())

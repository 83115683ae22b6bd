"""The worker's LISTEN connection: wakes the worker when new work is announced on WORK_CHANNEL.

The connection itself (reconnects with back-off, LISTEN again, a check when quiet) is
listening.ChannelListener's; here each notification's payload becomes a wake-up of the claim loop,
and every (re)connect one for "anything may be waiting", since notifications sent while the
connection was away are gone.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import psycopg

from agentledger_worker.channels import WORK_CHANNEL
from agentledger_worker.connection import connect_kwargs
from agentledger_worker.listening import ChannelListener

log = logging.getLogger("agentledger.worker")


class Listener(ChannelListener):
    def __init__(
        self,
        dsn: str,
        worker_name: str,
        on_work: Callable[[dict[str, Any] | None], None],
        check_interval: float,
        check_timeout: float,
    ):
        # on_work(message): the notification's payload ({"queued": {type: n}} or {"actions": ...}),
        # or None for "anything may be waiting".
        self.on_work = on_work
        super().__init__(
            dsn,
            WORK_CHANNEL,
            self._dispatch,
            on_listening=self._listening,
            connect_kwargs=connect_kwargs("listen", worker_name),
            check_interval=check_interval,
            check_timeout=check_timeout,
            label="listen connection",
            logger=log,
        )

    def _listening(self, reconnected: bool) -> None:
        if reconnected:
            log.info("listen connection: reconnected; looking for work missed meanwhile")
        self.on_work(None)

    def _dispatch(self, notify: psycopg.Notify) -> None:
        try:
            message = json.loads(notify.payload)
        except ValueError:
            message = None
        self.on_work(message if isinstance(message, dict) else None)

"""A TCP proxy between a client under test and PostgreSQL, to fail the network on purpose.

- `cut_next_commit()`: the next answer to a COMMIT is swallowed and the connection cut, after the
  server committed and before the client hears of it;
- `freeze()`: every connection open now stops carrying bytes, both ways, without closing: a
  half-open socket, as after a silent network failure. New connections work.
"""

from __future__ import annotations

import asyncio

# CommandComplete for COMMIT: 'C', int32 length (4 + 7), "COMMIT\0".
COMMIT_DONE = b"C\x00\x00\x00\x0bCOMMIT\x00"


class Proxy:
    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.cut_armed = False
        self.cuts = 0
        self.connections = 0
        self._frozen: set[int] = set()
        self._live: set[int] = set()
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> int:
        """Listen on a free loopback port; returns it."""
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening and drop every connection, frozen ones included."""
        self.server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def cut_next_commit(self) -> None:
        self.cut_armed = True

    def freeze(self) -> int:
        """Freeze the connections open now; returns how many."""
        self._frozen |= self._live
        return len(self._live)

    async def _client(self, client_reader, client_writer) -> None:
        self.connections += 1
        number = self.connections
        self._tasks.add(asyncio.current_task())
        self._live.add(number)
        server_reader, server_writer = await asyncio.open_connection(*self.target)
        writers = (client_writer, server_writer)
        try:
            await asyncio.gather(
                self._pipe(number, client_reader, server_writer, writers, upstream=True),
                self._pipe(number, server_reader, client_writer, writers, upstream=False),
            )
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            self._live.discard(number)
            for w in writers:
                w.close()

    async def _pipe(self, number: int, reader, writer, writers, upstream: bool) -> None:
        try:
            while data := await reader.read(65536):
                if number in self._frozen:
                    continue  # swallowed: nothing more gets through, and nothing is closed
                if not upstream and self.cut_armed and COMMIT_DONE in data:
                    self.cut_armed = False
                    self.cuts += 1
                    break
                writer.write(data)
                await writer.drain()
        finally:
            if number not in self._frozen:
                for w in writers:
                    w.close()

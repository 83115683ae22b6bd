"""A TCP proxy between a client under test and PostgreSQL, to fail the network on purpose.

- `cut_next_commit()`: the next answer to a COMMIT is swallowed and the connection cut, after the
  server committed and before the client hears of it;
- `freeze()`: every connection open now stops carrying bytes, both ways, without closing: a
  half-open socket, as after a silent network failure. New connections work.
- `partition()` ... `heal()`: the whole link goes silent, for connections open now and for new
  ones (a connection is accepted, but nothing it sends reaches the server), and nothing is closed.
  What is sent meanwhile is held, not lost, and delivered on heal(), as TCP would retransmit it
  once the network is back. Unlike freeze(), a cancel request or a reconnection during the
  partition goes nowhere either.
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
        self._healed = asyncio.Event()  # cleared while partitioned
        self._healed.set()

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

    def partition(self) -> int:
        """Silence the whole link until heal(); returns how many connections are open now."""
        self._healed.clear()
        return len(self._live)

    def heal(self) -> None:
        """End the partition: what was held is delivered, and new connections reach the server."""
        self._healed.set()

    async def _client(self, client_reader, client_writer) -> None:
        self.connections += 1
        number = self.connections
        self._tasks.add(asyncio.current_task())
        self._live.add(number)
        writers = [client_writer]
        try:
            await self._healed.wait()  # during a partition, a new connection gets no further
            server_reader, server_writer = await asyncio.open_connection(*self.target)
            writers.append(server_writer)
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
                await self._healed.wait()  # held during a partition
                if not upstream and self.cut_armed and COMMIT_DONE in data:
                    self.cut_armed = False
                    self.cuts += 1
                    break
                writer.write(data)
                await writer.drain()
            await self._healed.wait()  # an end of stream is held during a partition too
        finally:
            if number not in self._frozen:
                for w in writers:
                    w.close()

"""Terminal output: progress and results on stdout, problems on stderr."""

from __future__ import annotations

import sys
from typing import TextIO


class Console:
    def __init__(self, out: TextIO | None = None, err: TextIO | None = None):
        self.out = out or sys.stdout
        self.err = err or sys.stderr

    def info(self, message: str = "") -> None:
        print(message, file=self.out, flush=True)

    def comment(self, message: str = "") -> None:
        print(f"# {message}".rstrip(), file=self.out, flush=True)

    def start(self, text: str) -> None:
        """The first half of a progress line; `finish` completes it."""
        print(text, end="", file=self.out, flush=True)

    def finish(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def vent(self, message: str) -> None:
        print(message, file=self.err, flush=True)

    def progress_label(self, marker: str, name: str, width: int) -> str:
        """`  + name ..... ` as sqitch prints it, dots padding names to one width."""
        return f"  {marker} {name} ..{'.' * (width - len(name))} "

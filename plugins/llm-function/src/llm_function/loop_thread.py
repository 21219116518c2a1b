"""A daemon thread running one event loop: where planning (HTTP, model calls) happens."""

from __future__ import annotations

import asyncio
import threading


class LoopThread:
    """A daemon thread running one event loop until closed."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="llm_function-runtime", daemon=True)
        self.thread.start()
        self.ident = self.thread.ident

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def close(self) -> None:
        """Cancel what still runs (waiters get ``CancelledError``, not a hang), stop, join."""
        if self.loop.is_closed():
            return
        if threading.current_thread() is not self.thread:

            async def cancel_all() -> None:
                tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

            try:
                asyncio.run_coroutine_threadsafe(cancel_all(), self.loop).result(timeout=5)
            except Exception:  # a loop that is stopping or stuck: stop it anyway
                pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        if threading.current_thread() is not self.thread:
            self.thread.join(timeout=5)
            self.loop.close()

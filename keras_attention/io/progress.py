"""How far a long command is, and how long it has left: `[2/6]`-style counters with the
elapsed time and an estimate of the time left (the mean time of what is done, times what is
left). Imports nothing heavy."""

import time


def duration(seconds):
    """`"45 s"`, `"3 min 20 s"`, `"2 h 05 min"`."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class Counter:
    """Counts `total` steps of a command: `counter.step()` when one is done; `counter.status()`
    is `"3/20, 1 min 05 s so far, about 6 min left"`.

    `done` counts steps finished before (a resumed search): they are in the count, not in the
    estimate, which uses only the steps timed here.
    """

    def __init__(self, total, done=0, clock=time.monotonic):
        self.total = total
        self.done = done
        self.clock = clock
        self.started = clock()
        self.timed = 0

    def step(self, count=1):
        self.done += count
        self.timed += count

    def left(self):
        """Estimated seconds left (None until a step was timed)."""
        if not self.timed:
            return None
        return (self.clock() - self.started) / self.timed * max(0, self.total - self.done)

    def timing(self):
        """`"1 min 05 s so far, about 6 min left"`."""
        text = f"{duration(self.clock() - self.started)} so far"
        left = self.left()
        if left is not None and self.done < self.total:
            text += f", about {duration(left)} left"
        return text

    def status(self):
        return f"{self.done}/{self.total}, {self.timing()}"

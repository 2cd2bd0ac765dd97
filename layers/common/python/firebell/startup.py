"""The cyclic garbage collector while a function's handler module is imported (issue 10: cold start).

The import makes some 300,000 objects that live as long as the container (modules, classes, pydantic's and
botocore's tables), and next to no garbage; left on, the collector walks them again and again while they are made
(~160 collections, ~35 ms of a cold start: a third of `import botocore.session`). So each handler module calls
begin() before its imports and done() after them: no collections in between, then what the import made is frozen
(gc.freeze: kept out of every later collection, the first event's and each warm one's) and collecting resumes.
What the import left as garbage in cycles stays, frozen: bench/memory sees no difference in the peak RSS.
"""

from __future__ import annotations

import gc

_enabled_before = True


def begin() -> None:
    global _enabled_before
    _enabled_before = gc.isenabled()
    gc.disable()


def done() -> None:
    gc.freeze()
    if _enabled_before:
        gc.enable()

"""Who measures a run: a lease of one process in the store while it measures, alive while its
process is (on this host) or its heartbeat is recent (from another host sharing the store).
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timezone

#: A lease of another host whose heartbeat is older than this is taken as its process's death
#: (on this host the process itself is asked); heartbeats come every HEARTBEAT_S.
STALE_S = 60.0
HEARTBEAT_S = 5.0
#: This machine, as a lease names it.
HOST = socket.gethostname()
#: The leases this process holds now: one of its own pid with another token is a leftover (a
#: lease it could not give up, on a full disk) and is taken as dead.
HELD: set[str] = set()


def alive(pid: int, host: str, heartbeat: str, token: str) -> bool:
    """Whether a lease's process still measures: a heartbeat within STALE_S, and on this host
    the process itself there (a killed process is seen at once; a reused pid once it is stale),
    and if it is this process, one of its leases now."""
    if host == HOST and pid == os.getpid():
        return token in HELD
    age_s = (datetime.now(timezone.utc) - datetime.fromisoformat(heartbeat)).total_seconds()
    if age_s > STALE_S:
        return False
    if host != HOST:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True

"""A background worker: runs `work()` every $WORKER_INTERVAL seconds until stopped."""

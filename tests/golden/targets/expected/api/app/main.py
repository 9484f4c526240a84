"""The HTTP API: a hello route, liveness (/healthz) and readiness (/readyz)."""

from __future__ import annotations

import asyncio
import os

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from app import readiness

SERVICE = os.environ.get("SERVICE_NAME", "api")

app = FastAPI(title=SERVICE)


@app.get("/")
async def hello() -> dict[str, str]:
    return {"service": SERVICE, "message": f"Hello from {SERVICE}"}


@app.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    # Liveness only: no I/O, so a slow database never gets this container restarted.
    return {"status": "ok"}


@app.get("/readyz", include_in_schema=False)
async def readyz() -> JSONResponse:
    dbs = readiness.configured()
    # The drivers block: run every check in a worker thread, all at once, each bounded.
    results = await asyncio.gather(
        *(
            asyncio.wait_for(asyncio.to_thread(readiness.check, db), readiness.TIMEOUT + 1)
            for db in dbs
        ),
        return_exceptions=True,
    )
    status = {db.name: _describe(result) for db, result in zip(dbs, results, strict=True)}
    ready = all(value == "ok" for value in status.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "databases": status},
        status_code=200 if ready else 503,
    )


def _describe(result: BaseException | None) -> str:
    if result is None:
        return "ok"
    if isinstance(result, TimeoutError):
        return f"TimeoutError: no answer within {readiness.TIMEOUT + 1:g} s"
    text = " ".join(str(result).split()) or "no details"  # one line, driver messages vary
    return f"{type(result).__name__}: {text}"[:300]

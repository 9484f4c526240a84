"""`python -m app`: serve the API with uvicorn on 0.0.0.0:$PORT.

This process is the container's PID 1. uvicorn installs its own SIGTERM/SIGINT handlers, so
`docker stop` triggers a graceful shutdown instead of waiting for the kill timeout.
"""

import os

import uvicorn


def main() -> None:
    uvicorn.run(
        "app.main:app",
        # All interfaces of the container's own network namespace: compose publishes the port
        # on the host's 127.0.0.1 only.
        host="0.0.0.0",  # noqa: S104
        port=int(os.environ.get("PORT", "8000")),
        server_header=False,
        # Give in-flight requests a moment, but stop well within compose's 10 s stop timeout.
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()

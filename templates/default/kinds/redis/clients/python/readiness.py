def _redis(db: Database) -> None:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client = redis.Redis(
        host=db.host,
        port=db.port,
        username=db.user,  # the ACL user of this service
        password=db.password(),
        socket_connect_timeout=TIMEOUT,
        socket_timeout=TIMEOUT,
        retry=Retry(NoBackoff(), 0),  # the default retries would outlast the timeout
    )
    try:
        client.ping()  # AUTH user password first, then PING; raises on a wrong password
    finally:
        client.close()

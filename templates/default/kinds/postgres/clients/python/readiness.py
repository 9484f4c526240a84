def _postgres(db: Database) -> None:
    import psycopg

    with psycopg.connect(
        host=db.host,
        port=db.port,
        user=db.user,
        password=db.password(),
        dbname=db.database,
        connect_timeout=int(TIMEOUT),
    ) as conn:
        conn.execute("SELECT 1")

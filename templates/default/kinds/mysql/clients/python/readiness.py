def _mysql(db: Database) -> None:
    import pymysql

    conn = pymysql.connect(
        host=db.host,
        port=db.port,
        user=db.user,
        password=db.password() or "",
        database=db.database,
        connect_timeout=TIMEOUT,
        read_timeout=TIMEOUT,
        write_timeout=TIMEOUT,
    )
    try:
        conn.ping(reconnect=False)
    finally:
        conn.close()

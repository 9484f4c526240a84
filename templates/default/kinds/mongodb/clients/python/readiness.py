def _mongodb(db: Database) -> None:
    import pymongo

    client = pymongo.MongoClient(
        host=db.host,
        port=db.port,
        username=db.user,
        password=db.password(),
        authSource=db.database or "admin",
        directConnection=True,
        serverSelectionTimeoutMS=int(TIMEOUT * 1000),
        connectTimeoutMS=int(TIMEOUT * 1000),
        socketTimeoutMS=int(TIMEOUT * 1000),
    )
    try:
        client.admin.command("ping")  # the connection authenticates before the command runs
    finally:
        client.close()

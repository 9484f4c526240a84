  async mysql(db) {
    const mysql = require('mysql2/promise');
    const conn = await mysql.createConnection({
      host: db.host,
      port: db.port,
      user: db.user,
      password: password(db),
      database: db.database,
      connectTimeout: TIMEOUT_MS,
    });
    try {
      await conn.ping();
    } finally {
      conn.destroy();
    }
  },

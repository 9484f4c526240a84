  async postgres(db) {
    const { Client } = require('pg');
    const client = new Client({
      host: db.host,
      port: db.port,
      user: db.user,
      password: password(db),
      database: db.database,
      connectionTimeoutMillis: TIMEOUT_MS,
      query_timeout: TIMEOUT_MS,
    });
    try {
      await client.connect();
      await client.query('SELECT 1');
    } finally {
      await client.end().catch(() => {});
    }
  },

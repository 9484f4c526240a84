  async mongodb(db) {
    const { MongoClient } = require('mongodb');
    const client = new MongoClient(`mongodb://${db.host}:${db.port}/?directConnection=true`, {
      ...(db.user && { auth: { username: db.user, password: password(db) } }),
      authSource: db.database || 'admin',
      serverSelectionTimeoutMS: TIMEOUT_MS,
      connectTimeoutMS: TIMEOUT_MS,
      socketTimeoutMS: TIMEOUT_MS,
    });
    try {
      await client.db('admin').command({ ping: 1 }); // the connection authenticates first
    } finally {
      await client.close().catch(() => {});
    }
  },

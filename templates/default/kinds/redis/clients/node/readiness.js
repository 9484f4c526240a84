  async redis(db) {
    const { createClient } = require('redis');
    const client = createClient({
      // No reconnect loop: one attempt, reported as is.
      socket: {
        host: db.host,
        port: db.port,
        connectTimeout: TIMEOUT_MS,
        reconnectStrategy: false,
      },
      username: db.user, // the ACL user of this service
      password: password(db),
    });
    client.on('error', () => {}); // errors reject connect()/ping() below; don't crash on the event
    try {
      await client.connect(); // sends AUTH user password
      const reply = await client.ping();
      if (reply !== 'PONG') throw new Error(`unexpected PING reply ${JSON.stringify(reply)}`);
    } finally {
      client.destroy();
    }
  },

'use strict';
// Readiness checks: log in to every database named in $DATABASES.
//
// docker-compose.yml describes each database `<name>` with variables prefixed by the name in
// upper case ('-' becomes '_'): <P>_KIND, <P>_HOST, <P>_PORT, <P>_USER, <P>_DATABASE and
// <P>_PASSWORD_FILE (a mounted secret file; the password itself is never in the environment).
// A driver is require()d only when a database of its kind is configured.

const fs = require('node:fs');
const net = require('node:net');

// Each check gives up after this many milliseconds.
const TIMEOUT_MS = 2000;

function configuredDatabases() {
  return (process.env.DATABASES || '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean)
    .map((name) => {
      const prefix = `${name.toUpperCase().replace(/-/g, '_')}_`;
      const env = (key) => process.env[prefix + key] || undefined;
      return {
        name,
        kind: env('KIND') || 'tcp',
        host: env('HOST') || name,
        port: Number(env('PORT') || 0),
        user: env('USER'),
        database: env('DATABASE'),
        passwordFile: env('PASSWORD_FILE'),
      };
    });
}

// Read at every check, so a rotated secret is picked up without a restart. Only a trailing
// newline is stripped: it is never part of a password, spaces may be.
function password(db) {
  if (!db.passwordFile) return undefined;
  return fs.readFileSync(db.passwordFile, 'utf8').replace(/[\r\n]+$/, '');
}

const checks = {
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

  // Unknown kinds: the port accepts connections.
  tcp(db) {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: db.host, port: db.port, timeout: TIMEOUT_MS });
      socket.once('connect', () => socket.end(resolve));
      socket.once('timeout', () => socket.destroy(new Error('connect timed out')));
      socket.once('error', reject);
    });
  },
};

function checkFor(kind) {
  return Object.hasOwn(checks, kind) ? checks[kind] : checks.tcp;
}

// Bound every check, whatever the driver does with its own timeouts.
function withTimeout(promise, ms) {
  let timer;
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function describe(error) {
  const text = String(error && error.message ? error.message : error).replace(/\s+/g, ' ').trim();
  const name = (error && (error.code || error.name)) || 'Error';
  return `${name}: ${text || 'no details'}`.slice(0, 300);
}

// { <name>: 'ok' | '<error>' } for every database, checked concurrently.
async function checkAll(databases) {
  const results = await Promise.allSettled(
    databases.map((db) =>
      withTimeout(
        Promise.resolve().then(() => checkFor(db.kind)(db)),
        TIMEOUT_MS + 1000,
      ),
    ),
  );
  return Object.fromEntries(
    databases.map((db, i) => [
      db.name,
      results[i].status === 'fulfilled' ? 'ok' : describe(results[i].reason),
    ]),
  );
}

module.exports = { configuredDatabases, checkAll };

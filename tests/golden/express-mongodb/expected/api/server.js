'use strict';
// The HTTP API: a hello route, liveness (/healthz) and readiness (/readyz).

const express = require('express');
const { configuredDatabases, checkAll } = require('./readiness');

const PORT = Number(process.env.PORT || 3000);
// In the container: all interfaces of its own network namespace (compose publishes the port on
// the host's 127.0.0.1 only). A dev server run on the host sets HOST=127.0.0.1 (README).
const HOST = process.env.HOST || '0.0.0.0';
const SERVICE = process.env.SERVICE_NAME || 'api';

const app = express();
app.disable('x-powered-by');

app.get('/', (req, res) => {
  res.json({ service: SERVICE, message: `Hello from ${SERVICE}` });
});

// Liveness only: no I/O, so a slow database never gets this container restarted.
app.get('/healthz', (req, res) => {
  res.json({ status: 'ok' });
});

app.get('/readyz', async (req, res) => {
  const databases = await checkAll(configuredDatabases());
  const ready = Object.values(databases).every((status) => status === 'ok');
  res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', databases });
});

const server = app.listen(PORT, HOST, (err) => {
  if (err) throw err;
  console.log(`${SERVICE} listening on ${HOST}:${PORT}`);
});

// As the container's PID 1, node gets no default signal handling: without these handlers
// `docker stop` would wait for its timeout and then kill the process.
function shutdown(signal) {
  console.log(`${signal} received, shutting down`);
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  // Requests still running after 5 s are cut off, well within compose's 10 s stop timeout.
  setTimeout(() => process.exit(0), 5000).unref();
}
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);

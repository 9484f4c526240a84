'use strict';
// The image's HEALTHCHECK: exit 0 if GET /healthz answers 200 within 2 s, else 1.
// (The slim runtime image has no curl or wget.)

const http = require('node:http');

const request = http.get(
  { host: '127.0.0.1', port: process.env.PORT || 3000, path: '/healthz', timeout: 2000 },
  (res) => {
    res.resume();
    process.exit(res.statusCode === 200 ? 0 : 1);
  },
);
request.on('timeout', () => request.destroy(new Error('timeout')));
request.on('error', () => process.exit(1));

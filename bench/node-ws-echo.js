/* SPDX-License-Identifier: BSD-2-Clause */
// Echo server on Node's `ws` (Debian package node-ws), the independent peer
// for bench/ws_echo_bench.sh. Usage: node node-ws-echo.js PORT [deflate]
// With "deflate", permessage-deflate is enabled with ws's defaults
// (threshold 1024 bytes, context takeover), as most deployments run it.
'use strict';
let WebSocket;
try { WebSocket = require('ws'); } catch (e) { WebSocket = require('/usr/share/nodejs/ws'); }
const port = parseInt(process.argv[2] || '9001', 10);
const deflate = process.argv[3] === 'deflate';
const wss = new WebSocket.Server({ host: '127.0.0.1', port, perMessageDeflate: deflate });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('listening', () => console.log('node-ws echo listening on ' + port));

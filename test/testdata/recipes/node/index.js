#!/usr/bin/env node
// The Node.js recipe of docs/binary-packages.md, as a stand-in for a
// fabric-shim chaincode: it loads a module from node_modules, reads what
// bin/run gives the Node shim (CORE_PEER_ADDRESS, the base64 key and
// certificate files, the peer's CA), dials the peer with mutual TLS, names
// itself with CORE_CHAINCODE_ID_NAME, and records what it saw as one stderr
// line, "recipe-record {JSON}".
'use strict';
const fs = require('fs');
const tls = require('tls');
const greeting = require('greeting');

const record = { cwd: process.cwd(), greeting: greeting, dial: '' };
function save() {
  process.stderr.write('recipe-record ' + JSON.stringify(record) + '\n');
}
const addr = process.env.CORE_PEER_ADDRESS;
const colon = addr.lastIndexOf(':');
const base64File = (v) => Buffer.from(fs.readFileSync(process.env[v], 'utf8'), 'base64');
const conn = tls.connect({
  host: addr.slice(0, colon),
  port: Number(addr.slice(colon + 1)),
  ca: fs.readFileSync(process.env.CORE_PEER_TLS_ROOTCERT_FILE),
  key: base64File('CORE_TLS_CLIENT_KEY_PATH'),
  cert: base64File('CORE_TLS_CLIENT_CERT_PATH'),
}, () => conn.write(process.env.CORE_CHAINCODE_ID_NAME + '\n'));
let reply = '';
conn.setEncoding('utf8');
conn.on('data', (d) => {
  reply += d;
  if (reply.includes('\n')) { record.dial = reply.trim(); save(); }
});
conn.on('error', (e) => { record.dial = e.message; save(); });
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {}, 1 << 30);

// s3rver (an S3 API on local disk) for the tests and benchmarks, started by
// plugin_server/testing/servers.py:start_s3rver. Unlike moto it serves a ranged GET by
// reading that range from disk, so it tells moto's costs (a whole-object copy per ranged
// GET) from ours.
//
//   node s3rver.js PORT DIRECTORY ACCESS_KEY_ID SECRET_ACCESS_KEY
//
// s3rver only knows its own key pair; registering the one every test S3 server uses
// lets one plugin environment reach moto and s3rver alike.
'use strict';

const S3rver = require('s3rver');
const { DUMMY_ACCOUNT } = require('s3rver/lib/models/account');

const [port, directory, accessKeyId, secretAccessKey] = process.argv.slice(2);
if (!secretAccessKey) {
  console.error('usage: node s3rver.js PORT DIRECTORY ACCESS_KEY_ID SECRET_ACCESS_KEY');
  process.exit(2);
}
DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);

const server = new S3rver({ address: '127.0.0.1', port: Number(port), directory, silent: !process.env.S3RVER_LOG });
server.run().then(
  ({ address, port: bound }) => console.log(`s3rver listening on ${address}:${bound}`),
  err => {
    console.error(err);
    process.exit(1);
  },
);
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close().finally(() => process.exit(0)));
}

#!/usr/bin/env node
// tests/support/s3rver/serve.js: the S3 server of Kiln's S3 integration tests
// (tests/support/s3rver_server.h). It runs s3rver 3.7.1 on loopback and adds the one check
// s3rver lacks: s3rver 3.7.1 parses SigV4 Authorization headers but never verifies their
// signature (lib/middleware/authentication.js: "Signature version 4 calculation is
// unimplemeneted"). Here every SigV4 header signature is recomputed with AWS's own signer
// (@smithy/signature-v4, from the AWS SDK for JavaScript) over the request as received, and a
// mismatch is answered as S3 does: 403 SignatureDoesNotMatch. Payload hashes are taken from
// x-amz-content-sha256 as sent (as s3rver does), not recomputed.
//
// usage: NODE_PATH=<s3rver>/node_modules node --openssl-legacy-provider serve.js ROOT BUCKET...
// (s3rver's ListObjectsV2 continuation tokens are DES-encrypted: OpenSSL 3's legacy provider.)
// Stores objects under ROOT/data, creates the buckets, prints "listening on 127.0.0.1:<port>"
// once it accepts requests (the port is chosen by the system). Account: access key id S3RVER,
// secret S3RVER. Stops on SIGTERM/SIGINT, and when its stdin reaches EOF (the test process
// holding the other end died): then it also removes ROOT, so a crashed test leaves nothing
// behind. s3rver logs one line per request to stdout.
'use strict';

const crypto = require('crypto');
const S3rver = require('s3rver');
const S3Error = require('s3rver/lib/models/error');
const AWSAccount = require('s3rver/lib/models/account');
const { SignatureV4 } = require('@smithy/signature-v4');

// The hash interface @smithy/signature-v4 expects: new Sha256() hashes, new Sha256(key) MACs.
class Sha256 {
  constructor(key) {
    this.hash = key ? crypto.createHmac('sha256', key) : crypto.createHash('sha256');
  }
  update(data) {
    this.hash.update(data);
  }
  async digest() {
    return new Uint8Array(this.hash.digest());
  }
}

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

// "20130524T000000Z" -> Date
function parseAmzDate(text) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text || '');
  if (!m) return null;
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

async function checkSigV4(ctx, next) {
  const auth = ctx.get('authorization');
  if (!auth.startsWith('AWS4-HMAC-SHA256')) return next();
  const m = AUTH.exec(auth);
  if (!m) {
    throw new S3Error('AuthorizationHeaderMalformed', 'The authorization header is malformed.');
  }
  const [, keyId, , region, service, signedHeaders, signature] = m;
  const account = AWSAccount.registry.get(keyId);
  const date = parseAmzDate(ctx.get('x-amz-date'));
  // Unknown keys and bad dates: s3rver's own answers (InvalidAccessKeyId, AccessDenied).
  if (!account || !date) return next();
  const names = signedHeaders.split(';');
  const headers = {};
  for (const name of names) headers[name] = ctx.get(name);
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: keyId,
      secretAccessKey: account.accessKeys.get(keyId),
      sessionToken: ctx.get('x-amz-security-token') || undefined,
    },
    region,
    service,
    sha256: Sha256,
    uriEscapePath: false, // S3: the path is encoded once, by the client
    applyChecksum: false,
  });
  const path = ctx.originalUrl.split('?')[0];
  const signed = await signer.sign(
    { method: ctx.method, protocol: 'http:', hostname: ctx.hostname, path, query: ctx.query, headers },
    { signingDate: date, signableHeaders: new Set(names) },
  );
  const expected = / Signature=([0-9a-f]{64})$/.exec(signed.headers.authorization)[1];
  if (expected !== signature) {
    throw new S3Error(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. ' +
        'Check your key and signing method.',
      { AWSAccessKeyId: keyId },
    );
  }
  return next();
}

async function main() {
  const [root, ...buckets] = process.argv.slice(2);
  if (!root || buckets.length === 0) {
    console.error('usage: serve.js ROOT BUCKET [BUCKET...]');
    process.exit(2);
  }
  const server = new S3rver({
    directory: require('path').join(root, 'data'),
    address: '127.0.0.1',
    port: 0,
    silent: false,
    configureBuckets: buckets.map(name => ({ name, configs: [] })),
  });
  server.middleware.unshift(checkSigV4); // before s3rver's own middleware
  const { address, port } = await server.run();
  console.log(`listening on ${address}:${port}`);
  const stop = () => server.close().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', () => {
    require('fs').rmSync(root, { recursive: true, force: true });
    process.exit(0);
  });
  process.stdin.resume();
}

main().catch(err => {
  console.error(err);
  process.exit(1);
});

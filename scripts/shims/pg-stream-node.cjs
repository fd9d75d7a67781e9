// Stands in for pg/lib/stream.js inside the function bundles (scripts/bundle.mjs): the original tells
// Cloudflare Workers from Node at require time by constructing a `Response`, which makes Node load its
// whole built-in undici (~30 ms of a cold start) before any request. Functions run on Node only.
module.exports = {
  getStream() {
    const net = require('node:net');
    return new net.Socket();
  },
  getSecureStream(options) {
    const tls = require('node:tls');
    return tls.connect(options);
  },
};

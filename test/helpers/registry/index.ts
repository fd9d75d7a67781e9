/**
 * Test helpers around real registries (CNCF distribution's `docker-registry` and `skopeo`):
 *
 * - `startRegistry({ htpasswd?, token?, notifications? })` → `{ url, host, dir, stop() }`: one registry on a
 *   free loopback port, storage in a temp dir; `stopAllRegistries()` in an `afterAll` as a safety net.
 * - `buildOciImage(dir, { layers, platforms?, tag? })`: random images in an OCI layout (streamed to disk).
 * - `pushWithSkopeo(layout, tag, ref, creds?)`, `skopeoDigest(ref, creds?)`, `skopeoRaw(ref, creds?)`.
 * - `pushSignatureTag`, `pushReferrer`, `pushBlob`, `pushManifest`: small artifacts over HTTP.
 * - `startFaultProxy(registryUrl)`: a proxy whose `fault(req)` makes it throttle, drop or corrupt.
 */
export * from './artifacts.ts';
export * from './fault-proxy.ts';
export * from './oci-layout.ts';
export * from './registry.ts';
export * from './skopeo.ts';
export { startTokenServer, type TokenServer, type TokenServerOptions } from './token-server.ts';

/**
 * Test helpers around real registries (CNCF distribution's `docker-registry` and `skopeo`):
 *
 * - `startRegistry({ htpasswd?, token?, notifications? })` → `{ url, host, dir, stop() }`: one registry on a
 *   free loopback port, storage in a temp dir; `stopAllRegistries()` in an `afterAll` as a safety net.
 * - `buildOciImage(dir, { layers, platforms?, tag? })`: random images in an OCI layout (streamed to disk).
 * - `pushWithSkopeo(layout, tag, ref, creds?)`, `skopeoDigest(ref, creds?)` (`skopeoDigestOrNull`: null for a
 *   missing tag), `skopeoRaw(ref, creds?)`; `pushNewImage(ref, { layers, … }, creds?)`: build, push, forget.
 * - `pushSignatureTag`, `pushReferrer`, `pushBlob`, `pushManifest`: small artifacts over HTTP.
 * - `startFaultProxy(registryUrl)`: a proxy whose `fault(req)` makes it answer for the registry (429, 503),
 *   delay, drop or corrupt; `blobGets(proxy.log)`: the blob downloads it saw.
 * - `freePort()`: a free loopback port (for a server a registry's notifications must know in advance).
 */
export * from './artifacts.ts';
export * from './fault-proxy.ts';
export * from './oci-layout.ts';
export * from './registry.ts';
export * from './skopeo.ts';
export { startTokenServer, type TokenServer, type TokenServerOptions } from './token-server.ts';

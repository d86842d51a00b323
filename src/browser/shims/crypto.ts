// The browser's stand-in for node:crypto, which the monitor imports for one thing: the
// synchronous SHA-256 of trusted files (monitor/trusted-files.ts). WebCrypto hashes only
// asynchronously, and the browser host's manifests have no trusted files (src/browser/manifest.ts
// never sets any), so nothing calls this; if something did, it says why in one line.
// scripts/build-browser.ts maps node:crypto here; any other Node module fails the build.

export function createHash(algorithm: string): never {
  throw new Error(`${algorithm} of trusted files is not available in the browser host: its manifests grant no trusted files`);
}

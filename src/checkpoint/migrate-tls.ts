// TLS for migration: `drawbridge receive` makes a fresh Ed25519 key and a self-signed X.509
// certificate at each start and prints the certificate's SHA-256 fingerprint; `drawbridge
// migrate --pin` accepts that certificate and no other. No certificate authority is involved,
// so the certificate carries nothing but a key: the pin is the whole of the trust.
//
// Node can make keys and sign, and read certificates (X509Certificate), but not write one;
// the DER of a minimal certificate is small enough to write here, which keeps the trust
// path free of a third-party package. Why a certificate and not TLS-PSK keyed by the token:
// with a pin, the sender checks whom it talks to before the token leaves it, so a party that
// learnt the token still cannot pose as the receiver and be sent a program's memory.

import { generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';
import { isLoopbackIp } from '../abi/ip.ts';

/** A DER element: tag, definite length, body. */
function der(tag: number, body: Buffer): Buffer {
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...len]), body]);
}
const seq = (...items: Buffer[]) => der(0x30, Buffer.concat(items));
/** GeneralizedTime, YYYYMMDDHHMMSSZ. */
const time = (d: Date) => der(0x18, Buffer.from(d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z'));

/** The AlgorithmIdentifier of Ed25519 (OID 1.3.101.112, no parameters). */
const ED25519 = seq(der(0x06, Buffer.from([0x2b, 0x65, 0x70])));

export interface TlsIdentity {
  /** PEM, for tls.createServer. */
  key: string;
  cert: string;
  /** The certificate's SHA-256 fingerprint, as AB:CD:... (what X509Certificate.fingerprint256 gives). */
  fingerprint: string;
}

/** A new key and a self-signed certificate for it, named CN=`name`. */
export function selfSignedIdentity(name = 'drawbridge receive'): TlsIdentity {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const cn = seq(der(0x31, seq(der(0x06, Buffer.from([0x55, 0x04, 0x03])), der(0x0c, Buffer.from(name)))));
  const serial = randomBytes(16);
  serial[0]! &= 0x7f; // a positive INTEGER
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([2]))), // version 3
    der(0x02, serial),
    ED25519,
    cn,
    seq(time(new Date(Date.now() - 3600_000)), time(new Date('9999-12-31T23:59:59Z'))),
    cn,
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const certDer = seq(tbs, ED25519, der(0x03, Buffer.concat([Buffer.from([0]), sign(null, tbs, privateKey)])));
  const x509 = new X509Certificate(certDer);
  if (!x509.verify(publicKey)) throw new Error('the certificate made for TLS does not verify');
  return {
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    cert: x509.toString(),
    fingerprint: x509.fingerprint256,
  };
}

/** A pin as given (AB:CD:..., abcd..., with or without a sha256: prefix) as 64 lowercase hex digits, or null. */
export function normalizePin(text: string): string | null {
  const hex = text
    .trim()
    .replace(/^sha256:/i, '')
    .replace(/:/g, '')
    .toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : null;
}

/** Whether a host name or address is this machine's loopback (where TLS is optional). */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || isLoopbackIp(h);
}

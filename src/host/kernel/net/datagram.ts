// Datagrams of a bound UDP socket (udp.bind:ADDR:PORT), where each one has its own peer.
// The Dk ABI's read and write carry bytes only, so the address travels beside the payload:
//  - write: the destination first, as a line: "udp:ADDR:PORT\n", then the payload; the whole
//    write is one datagram to ADDR:PORT (the monitor checks ADDR:PORT against the connect
//    grants, as for a udp: connect).
//  - read: one datagram, payload only; the attribute peerUri is then "udp:ADDR:PORT", the
//    source of the datagram last read (what recvfrom reports).
// A text line keeps the ABI transparent: a trace shows where each datagram went.

import { DkError, type DkErrorCode } from '../../../abi/errors.ts';
import { parseSocketAddress, type SocketAddress } from '../../../abi/uri.ts';

/** The longest destination line ("udp:[ffff:...:ffff]:65535\n" is 52 bytes). */
export const DATAGRAM_HEADER_MAX = 72;
/** Largest UDP payload (IPv4). */
export const UDP_MAX = 65507;

const NEWLINE = 10;
const PREFIX = 'udp:';

/** Split a write on a bound socket into its destination and payload (a view of `data`). */
export function splitDatagram(data: Uint8Array): { to: SocketAddress; payload: Uint8Array } | DkErrorCode {
  const limit = Math.min(data.length, DATAGRAM_HEADER_MAX);
  let nl = -1;
  for (let i = 0; i < limit; i++) {
    if (data[i] === NEWLINE) {
      nl = i;
      break;
    }
  }
  if (nl < 0) return DkError.INVALID_ARGUMENT;
  let text = '';
  for (let i = 0; i < nl; i++) text += String.fromCharCode(data[i]!);
  if (!text.startsWith(PREFIX)) return DkError.INVALID_ARGUMENT;
  const to = parseSocketAddress(text.slice(PREFIX.length));
  if (to === null) return DkError.INVALID_ARGUMENT;
  if (to.port === 0) return DkError.INVALID_ARGUMENT; // nobody receives on port 0
  const payload = data.subarray(nl + 1);
  if (payload.length > UDP_MAX) return DkError.INVALID_ARGUMENT; // EMSGSIZE
  return { to, payload };
}

// The socket state of a descriptor that is a socket, kept beside it in WasiState.sockets:
// written by the socket calls (wasi/sock.ts, drawbridge/net.ts), read by a checkpoint (save.ts).

/** What the library OS knows of a socket beyond its descriptor. */
export interface SocketInfo {
  type: 'stream' | 'dgram';
  family: 4 | 6;
  /**
   * fresh: made by socket(); bound: bind() recorded an address (TCP: the host binds at listen);
   * listening: a server stream is open (its bound URI, once settled, in acceptUri); for UDP,
   * a bound socket (udp.bind:), which receives from anyone (recvfrom) and sends with sendto;
   * connecting: a connect is in progress; connected: a stream to a peer.
   */
  state: 'fresh' | 'bound' | 'listening' | 'connecting' | 'connected';
  /** "127.0.0.1:8080" / "[::1]:0": what bind() asked for. */
  bound: string | null;
  /** The URI DkStreamOpen(ACCEPT) takes connections from (the server's localUri). */
  acceptUri: string | null;
}

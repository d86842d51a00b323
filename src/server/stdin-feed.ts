// The stdin of a picoprocess started by the daemon: bytes the control API hands over
// (POST .../stdin), read in order (host/kernel/fed-stream.ts), at most STDIN_FEED_LIMIT unread.

import { FedStream } from '../host/kernel/fed-stream.ts';

export const STDIN_FEED_LIMIT = 1024 * 1024;

export class StdinFeed extends FedStream {
  constructor(limit = STDIN_FEED_LIMIT) {
    super(limit);
  }
}

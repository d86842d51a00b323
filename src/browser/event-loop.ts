// "After the other ready work": the browser's setImmediate. A MessageChannel message is a task
// of its own, queued behind what is ready now and not clamped as a nested setTimeout(0) is (4 ms
// after a few levels), so a computing guest's time slice ends without losing time.

const queue: (() => void)[] = [];
let channel: InstanceType<typeof MessageChannel> | null = null;

function drain(): void {
  // Only those queued before this turn: one queued meanwhile waits for the next task.
  const now = queue.splice(0, queue.length);
  for (const fn of now) fn();
}

export function afterOtherWork(fn: () => void): void {
  if (!channel) {
    channel = new MessageChannel();
    // Set as the handler, which starts the port (the DOM's MessagePort; Node's types lack it).
    (channel.port1 as unknown as { onmessage: () => void }).onmessage = drain;
  }
  queue.push(fn);
  if (queue.length === 1) channel.port2.postMessage(0);
}

// Just enough QMP to stop a guest politely.

import { connect } from 'node:net';

export async function qmpCommand(socketPath: string, command: string, timeoutMs = 3000): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const sock = connect(socketPath);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`QMP ${command}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    let buffered = '';
    let stage = 0;
    sock.on('data', (chunk) => {
      buffered += String(chunk);
      let nl: number;
      while ((nl = buffered.indexOf('\n')) !== -1) {
        const msg = JSON.parse(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
        if (stage === 0 && msg.QMP) {
          stage = 1;
          sock.write('{"execute":"qmp_capabilities"}\n');
        } else if (stage === 1 && 'return' in msg) {
          stage = 2;
          sock.write(JSON.stringify({ execute: command }) + '\n');
        } else if (stage === 2 && ('return' in msg || 'error' in msg)) {
          clearTimeout(timer);
          sock.end();
          if (msg.error) reject(new Error(`QMP ${command}: ${msg.error.desc}`));
          else resolve();
        }
      }
    });
    // "quit" closes the socket before or instead of answering: that is success.
    sock.on('close', () => {
      clearTimeout(timer);
      if (stage === 2) resolve();
      else reject(new Error(`QMP ${command}: socket closed during the handshake`));
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

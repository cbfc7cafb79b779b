import { createWriteStream, type WriteStream } from 'node:fs';

/** The trace stops growing past this size; status reports it as truncated. */
export const trace_bytes_max = 512 * 1024 * 1024;
/** Records are skipped rather than queued without limit while the disk falls behind. */
export const trace_buffer_bytes_max = 16 * 1024 * 1024;
/** Records are held and written together this often: each file write costs the router more than many lines. */
export const trace_flush_interval_ms = 20;
/** ...or as soon as this many bytes are held. */
export const trace_flush_bytes = 64 * 1024;

/**
 * The message trace: one JSON object per line with the time, the link, what
 * the router did, and the message exactly as the node wrote it. A message some
 * copy of which was held by a delay also carries `delays_ms`: each delivered
 * copy's delay, so a reader can tell when it arrived (t + delay) from when it
 * was sent (t).
 */
export class TraceWriter {
  bytes = 0;
  truncated = false;
  skipped = 0;
  private stream: WriteStream;
  /** Records not yet written: written together every trace_flush_interval_ms (or trace_flush_bytes), not one write per message. */
  private pending: string[] = [];
  private pendingBytes = 0;
  private flushTimer: NodeJS.Timeout | null = null;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path, { flags: 'w' });
    this.stream.on('error', () => {
      this.truncated = true;
    });
  }

  /**
   * `rawMessage` must be the node's original JSON line, so it is embedded without re-encoding.
   * `delays_ms`: the delay of each copy delivered; written only when some copy waits, so a message
   * delivered at once reads as it always did.
   */
  record(t_ms: number, fate: string, rawMessage: string, delays_ms: readonly number[] = []): void {
    if (this.truncated) return;
    if (this.stream.writableLength + this.pendingBytes > trace_buffer_bytes_max) {
      this.skipped++;
      return;
    }
    const delays = delays_ms.some((d) => d > 0) ? `"delays_ms":[${delays_ms.join(',')}],` : '';
    const line = `{"t":${t_ms},"fate":"${fate}",${delays}"msg":${rawMessage}}\n`;
    this.bytes += line.length;
    if (this.bytes > trace_bytes_max) {
      this.truncated = true;
      return;
    }
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= trace_flush_bytes) this.flush();
    else this.flushTimer ??= setTimeout(() => this.flush(), trace_flush_interval_ms);
  }

  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    this.stream.write(text);
  }

  close(): Promise<void> {
    this.flush();
    return new Promise((resolve) => this.stream.end(resolve));
  }
}

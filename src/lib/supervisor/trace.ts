import { createWriteStream, type WriteStream } from 'node:fs';

/** The trace stops growing past this size; status reports it as truncated. */
export const trace_bytes_max = 512 * 1024 * 1024;
/** Records are skipped rather than queued without limit while the disk falls behind. */
export const trace_buffer_bytes_max = 16 * 1024 * 1024;

/**
 * The message trace: one JSON object per line with the time, the link, what
 * the router did, and the message exactly as the node wrote it.
 */
export class TraceWriter {
  bytes = 0;
  truncated = false;
  skipped = 0;
  private stream: WriteStream;
  /** Records made in this turn of the event loop, written together at its end: one write instead of one per message. */
  private pending: string[] = [];
  private pendingBytes = 0;
  private flushScheduled = false;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path, { flags: 'w' });
    this.stream.on('error', () => {
      this.truncated = true;
    });
  }

  /** `rawMessage` must be the node's original JSON line, so it is embedded without re-encoding. */
  record(t_ms: number, fate: string, rawMessage: string): void {
    if (this.truncated) return;
    if (this.stream.writableLength + this.pendingBytes > trace_buffer_bytes_max) {
      this.skipped++;
      return;
    }
    const line = `{"t":${t_ms},"fate":"${fate}","msg":${rawMessage}}\n`;
    this.bytes += line.length;
    if (this.bytes > trace_bytes_max) {
      this.truncated = true;
      return;
    }
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
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

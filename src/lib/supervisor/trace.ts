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

  constructor(readonly path: string) {
    this.stream = createWriteStream(path, { flags: 'w' });
    this.stream.on('error', () => {
      this.truncated = true;
    });
  }

  /** `rawMessage` must be the node's original JSON line, so it is embedded without re-encoding. */
  record(t_ms: number, fate: string, rawMessage: string): void {
    if (this.truncated) return;
    if (this.stream.writableLength > trace_buffer_bytes_max) {
      this.skipped++;
      return;
    }
    const line = `{"t":${t_ms},"fate":"${fate}","msg":${rawMessage}}\n`;
    this.bytes += line.length;
    if (this.bytes > trace_bytes_max) {
      this.truncated = true;
      return;
    }
    this.stream.write(line);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(resolve));
  }
}

/** Bytes at the end of a chunk that a parser may still be holding back (record-delimiter lookahead). */
const LOOKAHEAD_MARGIN = 64;
const LF = 0x0a;
const CR = 0x0d;

/**
 * Counts line breaks (LF, CRLF or a lone CR, each one line) in a byte stream fed chunk by chunk,
 * up to any byte position the parser reports. csv-parse's own `info.lines` counts a CRLF inside a
 * quoted field as two lines, so line numbers would drift after every such field, and a restart
 * would carry the drift into every later message.
 *
 * Positions must be asked in increasing order. Chunks are kept only until scanned, and every chunk
 * but the newest is scanned when the next arrives (but for a small lookahead margin), so memory
 * stays bounded even inside a quoted field that never closes.
 *
 * @internal
 */
export class LineCounter {
  private readonly chunks: { readonly bytes: Buffer; readonly start: number; readonly hasCR: boolean }[] = [];
  private end: number;
  private scanned: number;
  private breaks = 0;
  private previousWasCR = false;
  private lastWasBreak = false;

  constructor(startOffset: number) {
    this.end = startOffset;
    this.scanned = startOffset;
  }

  feed(chunk: Buffer): void {
    this.scanTo(this.end - LOOKAHEAD_MARGIN);
    this.chunks.push({ bytes: chunk, start: this.end, hasCR: chunk.includes(CR) });
    this.end += chunk.length;
  }

  /** Line breaks from the start offset up to (not including) byte `position`. */
  breaksBefore(position: number): number {
    this.scanTo(position);
    return this.breaks;
  }

  /**
   * The line on which a record ending at `end` (just after its terminator, if it has one) ends,
   * counting from 1 at the start offset.
   */
  lineEndingAt(end: number): number {
    this.scanTo(end);
    return this.breaks + (this.lastWasBreak ? 0 : 1);
  }

  private scanTo(position: number): void {
    while (this.scanned < position && this.chunks.length > 0) {
      const chunk = this.chunks[0]!;
      const from = this.scanned - chunk.start;
      const to = Math.min(position, chunk.start + chunk.bytes.length) - chunk.start;
      this.count(chunk.bytes, from, to, chunk.hasCR);
      this.scanned = chunk.start + to;
      if (to === chunk.bytes.length) this.chunks.shift();
    }
  }

  private count(bytes: Buffer, from: number, to: number, hasCR: boolean): void {
    if (from >= to) return;
    if (!hasCR) {
      for (let i = bytes.indexOf(LF, from); i !== -1 && i < to; i = bytes.indexOf(LF, i + 1)) this.breaks += 1;
      this.previousWasCR = false;
    } else {
      let previousWasCR = this.previousWasCR;
      for (let i = from; i < to; i++) {
        const byte = bytes[i];
        if (byte === LF) {
          if (!previousWasCR) this.breaks += 1;
          previousWasCR = false;
        } else if (byte === CR) {
          this.breaks += 1;
          previousWasCR = true;
        } else previousWasCR = false;
      }
      this.previousWasCR = previousWasCR;
    }
    const last = bytes[to - 1];
    this.lastWasBreak = last === LF || last === CR;
  }
}

/** The encodings a file reader can decode line by line: each writes LF and CR as the single bytes 0x0A and 0x0D. @internal */
export const LINE_SAFE_ENCODINGS: readonly BufferEncoding[] = ['utf8', 'utf-8', 'latin1', 'binary', 'ascii'];

const LF = 0x0a;

/**
 * A stretch of a file's decoded text that starts at a line start and ends just after a line feed
 * (or at the end of the file), with where its bytes lie in the file.
 *
 * @internal
 */
export interface TextSegment {
  readonly text: string;
  /** Byte position in the file of the first character. */
  readonly byteStart: number;
  /** Byte position just after the last character. */
  readonly byteEnd: number;
  /**
   * The segment's bytes, kept only when some character is not one byte (multi-byte UTF-8); when
   * undefined, character i is byte `byteStart + i`.
   */
  readonly bytes: Buffer | undefined;
}

/**
 * Byte position in the file of character `index` of a segment, where `index` is the end of the
 * segment or just after one of its line feeds (where every CSV record ends).
 *
 * Multi-byte text is mapped through its line feeds, not by re-encoding the text: both UTF-8 and
 * the one-byte encodings decode the byte 0x0A, and only it, to '\n', while invalid UTF-8 (decoded
 * to U+FFFD, three bytes once re-encoded) would shift a re-encoded length. It costs a scan of the
 * segment, which is why callers ask only when a position is saved, not for every record.
 *
 * @internal
 */
export function byteOffsetIn(segment: TextSegment, index: number): number {
  const { text, bytes } = segment;
  if (index >= text.length) return segment.byteEnd;
  if (bytes === undefined) return segment.byteStart + index;
  let feeds = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) feeds += 1;
  let at = -1;
  for (; feeds > 0; feeds -= 1) at = bytes.indexOf(LF, at + 1);
  return segment.byteStart + at + 1;
}

/**
 * Cuts a file's bytes, fed chunk by chunk from a start offset, into {@link TextSegment}s that end at
 * line feeds, and decodes them. Cutting at a line feed never splits a multi-byte character (the byte
 * 0x0A is never part of one in the encodings above), so no decoder state crosses segments, and a
 * parser sees whole lines: it needs no lookahead past a segment for a CRLF, a doubled quote or a
 * delimiter. A UTF-8 byte order mark at the very start of the file is dropped.
 *
 * @internal
 */
export class LineAlignedDecoder {
  /** Bytes after the last line feed seen, waiting for the next one. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Byte position in the file of the first pending byte. */
  private position: number;
  private atFileStart: boolean;

  constructor(
    startOffset: number,
    private readonly encoding: BufferEncoding,
  ) {
    this.position = startOffset;
    this.atFileStart = startOffset === 0;
  }

  /** The segment of whole lines completed by `chunk`, if it holds a line feed. */
  write(chunk: Buffer): TextSegment | undefined {
    const lastFeed = chunk.lastIndexOf(LF);
    if (lastFeed === -1) {
      if (chunk.length > 0) {
        this.pending.push(chunk);
        this.pendingBytes += chunk.length;
      }
      return undefined;
    }
    let bytes = chunk.subarray(0, lastFeed + 1);
    if (this.pendingBytes > 0) {
      this.pending.push(bytes);
      bytes = Buffer.concat(this.pending, this.pendingBytes + bytes.length);
    }
    this.pending = lastFeed + 1 < chunk.length ? [chunk.subarray(lastFeed + 1)] : [];
    this.pendingBytes = chunk.length - lastFeed - 1;
    return this.segment(bytes);
  }

  /** The rest of the file after the last line feed (possibly empty). */
  end(): TextSegment {
    const bytes = this.pendingBytes > 0 ? Buffer.concat(this.pending, this.pendingBytes) : Buffer.alloc(0);
    this.pending = [];
    this.pendingBytes = 0;
    return this.segment(bytes);
  }

  private segment(raw: Buffer): TextSegment {
    let bytes = raw;
    if (this.atFileStart) {
      this.atFileStart = false;
      if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
        bytes = bytes.subarray(3);
        this.position += 3;
      }
    }
    const text = bytes.toString(this.encoding);
    const byteStart = this.position;
    this.position += bytes.length;
    // One character per byte (ASCII, or a one-byte encoding) maps positions without the bytes.
    return { text, byteStart, byteEnd: this.position, bytes: text.length === bytes.length ? undefined : bytes };
  }
}

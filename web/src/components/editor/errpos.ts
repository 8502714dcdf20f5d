// Where in the query a server's parse error points: Vigil's LogQL says
// "parse error at line 1, col 26: ...", Prometheus "1:15: parse error: ...".

/** errorPosition returns the 1-based line and column a parse error names, or null. */
export function errorPosition(msg: string): { line: number; col: number } | null {
  const m = /\bline (\d+), col(?:umn)? (\d+)\b/.exec(msg) ?? /(?:^|\s|:\s)(\d+):(\d+):\s/.exec(msg);
  if (!m) return null;
  const line = Number(m[1]);
  const col = Number(m[2]);
  return line >= 1 && col >= 1 ? { line, col } : null;
}

/** errorOffset turns the position into an offset into text, clamped to it. */
export function errorOffset(text: string, pos: { line: number; col: number }): number {
  const lines = text.split('\n');
  if (pos.line > lines.length) return text.length;
  let off = 0;
  for (let i = 0; i < pos.line - 1; i++) off += lines[i].length + 1;
  return Math.min(off + pos.col - 1, off + lines[pos.line - 1].length);
}

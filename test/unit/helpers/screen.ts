// What a terminal shows after a stream of output: the rows of a screen of
// fixed width, for the escape sequences lustress writes (carriage return,
// newline, erase to end of line). Any other escape sequence is an error, so a
// test sees it rather than a screen that looks right by accident.

export function renderScreen(output: string, columns: number): string[] {
  const rows: string[][] = [[]];
  let row = 0;
  let col = 0;
  let pendingWrap = false;
  const newRow = () => {
    row++;
    rows[row] ??= [];
  };
  for (let i = 0; i < output.length; i++) {
    const c = output[i]!;
    if (c === '\r') {
      col = 0;
      pendingWrap = false;
    } else if (c === '\n') {
      newRow();
      pendingWrap = false;
    } else if (c === '\x1b') {
      const m = /^\x1b\[(\d*)K/.exec(output.slice(i, i + 8));
      if (!m || (m[1] !== '' && m[1] !== '0'))
        throw new Error(`unexpected escape sequence at ${i}: ${JSON.stringify(output.slice(i, i + 8))}`);
      rows[row]!.length = Math.min(rows[row]!.length, col);
      i += m[0].length - 1;
    } else {
      // A terminal wraps when a character comes after the last column is filled.
      if (pendingWrap) {
        newRow();
        col = 0;
        pendingWrap = false;
      }
      const line = rows[row]!;
      while (line.length < col) line.push(' ');
      line[col] = c;
      if (col === columns - 1) pendingWrap = true;
      else col++;
    }
  }
  return rows.map((r) => r.join('').trimEnd());
}

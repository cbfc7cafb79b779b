/** Aligned plain-text tables for the commands' output: columns padded to their widest cell, optionally coloured per cell. */

export function table(rows: string[][], colour: ((cell: string, row: number, column: number) => string) | null = null): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row, r) =>
      row
        .map((cell, c) => {
          const padded = c === row.length - 1 ? cell : cell.padEnd(widths[c]!);
          return colour ? colour(padded, r, c) : padded;
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

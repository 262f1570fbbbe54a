/**
 * A size for people: `512 B`, `3.9 KB`, `12 MB` (binary units). Progress lines ask for two decimals
 * below 10, so that `1.25 MB of 1.43 MB` reads as the 87% it is.
 */
export function formatBytes(bytes: number, decimalsBelowTen = 1): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? decimalsBelowTen : 0)} ${units[unit]}`;
}

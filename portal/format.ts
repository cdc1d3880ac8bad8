/** Small formatting helpers shared by the views. */
export function when(iso: string | null | undefined): string {
  if (!iso) return "never";
  return iso.replace("T", " ").replace(/(\.\d+)?Z$/, " UTC");
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export function isHotpatch(p: { rebootBehavior: string }): boolean {
  return p.rebootBehavior === "NeverReboots";
}

/** Progress on stderr: a benchmark takes minutes. */
export function step(what: string): void {
  console.error(`bench: ${what}`);
}

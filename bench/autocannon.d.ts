// autocannon ships no type declarations (and @types/autocannon is not installed); the benchmark uses it loosely.
declare module 'autocannon' {
  const autocannon: (opts: Record<string, unknown>, cb: (err: Error | null, result: any) => void) => { on(event: string, listener: (...args: any[]) => void): void; stop(): void };
  export default autocannon;
}

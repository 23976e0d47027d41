// V8 flags the gateway ships with (npm start, the Docker entrypoint, the benchmark and the memory test use these).
// Nothing calls gc() and --expose-gc is not needed: streamed bodies give their buffers back as they go
// (src/proxy/reclaim.ts). These two bound V8's own heap, measured on Node 24 under wrk at c=256:
// --max-semi-space-size=8: the young generation may otherwise grow to 2 × 64 MiB (new space 128 MiB after a
//   minute of load), most of a proxy's resident memory; 16 MiB keeps scavenges cheap (a proxy's young objects
//   die young).
// --heap-growing-percent=50: the old generation collects when it reaches 1.5× what the last full GC kept alive;
//   by default V8 let it grow to ~100 MiB of promoted garbage before its first full GC (20 MiB live).
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8', '--heap-growing-percent=50']

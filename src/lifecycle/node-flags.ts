// V8 flags the gateway ships with (npm start, the Docker entrypoint, the benchmark and the memory test use these).
// --max-semi-space-size=8: V8's young generation may otherwise grow to 2 × 64 MiB under load (measured on Node 24:
// new space 128 MiB after a minute of c=256), most of a proxy's resident memory. 8 MiB semi-spaces cap it at
// 16 MiB; a proxy's young objects are short-lived, so scavenges stay cheap. Nothing calls gc(): streamed
// bodies give their buffers back as they go (src/proxy/reclaim.ts).
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8']

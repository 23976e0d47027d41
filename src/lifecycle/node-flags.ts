// V8 flags the gateway ships with (npm start, the Docker entrypoint, the benchmark and the memory test use these).
//
// A proxy's garbage is mostly off-heap: every socket read is a fresh 64 KiB buffer that dies as soon as it is
// written on. Those buffers are only freed when a scavenge collects their small on-heap wrappers, and with
// V8's default (large) young generation scavenges are rare, so tens of MiB of dead buffers pile up during a
// fast transfer before V8's external-memory limit forces a collection. A 2 MiB semi-space makes scavenges
// frequent and cheap (a proxy's young objects are short-lived), which keeps RSS flat under large streams.
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2']

// V8 flags the gateway ships with (npm start, the Docker entrypoint, the benchmark and the memory test use these).
// --expose-gc lets the GC pacer (gc-pacer.ts) ask for a cheap young-generation collection while large bodies
// stream; nothing else calls gc().
export const NODE_FLAGS: readonly string[] = ['--expose-gc']

// The values the gateway takes from node:http, in one place. Not `import … from 'node:http'`: for an ES module
// import Node builds the module's ESM view by reading every export, getters included, and node:http's WebSocket,
// CloseEvent and MessageEvent getters load Node's own copy of undici with ~70 more internal modules (~50 ms of
// every start, ~8 MiB). Type imports from 'node:http' are erased and cost nothing (test/unit/builtin-imports.test.ts).
export const { createServer, METHODS, STATUS_CODES } = process.getBuiltinModule('node:http')

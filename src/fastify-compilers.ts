// Fastify makes its JSON-schema compilers (ajv and fast-json-stringify, ~90 modules, ~40 ms of start-up) when an
// instance is created, although no route of the gateway or the admin API has a schema: loaded on first use instead.
import { createRequire } from 'node:module'
import type { FastifyServerOptions } from 'fastify'

const requireFromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'))
type Factory = (...args: unknown[]) => unknown

function lazy (name: string): Factory {
  let factory: Factory | undefined
  return (...args) => (factory ??= (requireFromFastify(name) as () => Factory)())(...args)
}

export const LAZY_SCHEMA_COMPILERS = {
  compilersFactory: { buildValidator: lazy('@fastify/ajv-compiler'), buildSerializer: lazy('@fastify/fast-json-stringify-compiler') },
} as unknown as FastifyServerOptions['schemaController']

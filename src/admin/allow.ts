// A path the admin listener serves, asked with a method it does not take: 405 with Allow (RFC 9110 §15.5.6), as
// Envoy's admin answers a GET to a POST-only endpoint; OPTIONS is 204 with Allow (§9.3.7). Only unknown paths are 404.
// Such a request is one Fastify's router finds no route for (a 404 to Fastify): its path is looked up again among
// the paths alone, in a router of one tree. Routes for every other method of every path (~550 of them, one
// find-my-way tree per method) cost ~30-40 ms of every start, before the admin listener could answer /readyz.
import FindMyWay from 'find-my-way'
import type { FastifyInstance, FastifyRequest } from 'fastify'

// the order Allow lists them in
const LISTED: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']

/** A path the listener serves (its route's url), and what it takes. */
export interface OtherMethod {
  readonly url: string
  readonly allow: string
}

/**
 * What a request no route took asked for: a path that is there with another method; the refusal the router gives a
 * method that has routes on that path for a parameter over maxParamLength (frameworkErrors); or undefined, a path
 * that is not there. (Bad percent-encoding and malformed absolute URLs never get here: Fastify's own router refuses
 * them for every method, routes or not, before any hook runs.)
 */
export type Unrouted = OtherMethod | 'uri_too_long' | undefined

export interface RouterOptions {
  readonly maxParamLength: number
}

/**
 * Notes every route declared on the instance from now on; returns what a request no route took asked for (above).
 * The router of paths is built at its first use: routes are all declared by then (Fastify takes none once ready).
 */
export function otherMethods (admin: FastifyInstance, options: RouterOptions): (request: FastifyRequest) => Unrouted {
  const methodsByUrl = new Map<string, Set<string>>()
  admin.addHook('onRoute', (route) => {
    const methods = methodsByUrl.get(route.url) ?? new Set<string>()
    for (const method of [route.method].flat()) methods.add(method)
    methodsByUrl.set(route.url, methods)
  })
  let paths: FindMyWay.Instance<FindMyWay.HTTPVersion.V1> | undefined
  const build = (): FindMyWay.Instance<FindMyWay.HTTPVersion.V1> => {
    // Fastify's own router options (its defaults but maxParamLength), so a path matches here as it would there; a
    // parameter too long comes back as the answer the listener's frameworkErrors gives it
    const router = FindMyWay({
      maxParamLength: options.maxParamLength,
      onMaxParamLength: () => 'uri_too_long',
    })
    for (const [url, methods] of methodsByUrl) {
      if (methods.has('GET')) methods.add('HEAD')
      const allow = LISTED.filter((m) => methods.has(m) || m === 'OPTIONS').join(', ')
      router.on('GET', url, () => {}, { url, allow } satisfies OtherMethod)
    }
    return router
  }
  return (request) => {
    const found = (paths ??= build()).find('GET', request.url)
    if (found === null) return undefined
    // a refusal's result carries no store: its handler gives the answer (onMaxParamLength above)
    return found.store === null ? found.handler(request.raw, request.raw as never, {}, null, {}) as Unrouted : found.store as OtherMethod
  }
}

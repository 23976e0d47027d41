// A path the admin listener serves, asked with a method it does not take: 405 with Allow (RFC 9110 §15.5.6), as
// Envoy's admin answers a GET to a POST-only endpoint; OPTIONS is 204 with Allow (§9.3.7). Only unknown paths are 404.
import type { FastifyInstance, FastifyReply, HTTPMethods } from 'fastify'
import { METHODS } from '../node-http.ts'

// the order Allow lists them in
const LISTED: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']

/**
 * Notes every route declared on the instance from now on; once the instance boots, adds a route for the other
 * methods of each path. `refuse` answers 405 in the instance's error format (the Allow header is set by then).
 */
export function answerOtherMethods (admin: FastifyInstance, refuse: (reply: FastifyReply) => FastifyReply): void {
  const methodsByUrl = new Map<string, Set<string>>()
  let sealed = false
  // every method Node's parser takes (WebDAV's, PURGE), not only those Fastify routes by default: a known path asked
  // with one is 405 as well, not 404 (CONNECT names no path)
  for (const method of METHODS) {
    if (method !== 'CONNECT' && !admin.supportedMethods.includes(method)) admin.addHttpMethod(method)
  }
  admin.addHook('onRoute', (route) => {
    if (sealed) return
    const methods = methodsByUrl.get(route.url) ?? new Set<string>()
    for (const method of [route.method].flat()) methods.add(method)
    methodsByUrl.set(route.url, methods)
  })
  // a plugin boots after every route declared before listen(): the dashboard's too
  admin.register(async (instance) => {
    sealed = true
    for (const [url, methods] of methodsByUrl) {
      if (methods.has('GET')) methods.add('HEAD')
      const allow = LISTED.filter((m) => methods.has(m) || m === 'OPTIONS').join(', ')
      instance.route({
        // every method the router knows (TRACE too), not only the common ones
        method: instance.supportedMethods.filter((m) => !methods.has(m)) as HTTPMethods[],
        url,
        // answered before any body is parsed (after the token and origin checks, which are the instance's own
        // onRequest hooks): a body of a type the path would not read is no reason to say anything but 405
        onRequest: async (request, reply) => {
          reply.header('allow', allow)
          return request.method === 'OPTIONS' ? reply.code(204).send() : refuse(reply)
        },
        handler: async () => undefined,
      })
    }
  })
}

// Layering rules, checked in `npm test` (`npm run deps`). Lower layers never import higher ones.
// Parsed with swc: TypeScript 7 has no compiler API for dependency-cruiser yet.
const rule = (name, from, to, comment) => ({ name, comment, severity: 'error', from: { path: from }, to: { path: to } })

module.exports = {
  forbidden: [
    rule('upstream-not-to-proxy', '^src/upstream/', '^src/proxy/', 'pools and targets know nothing of client requests'),
    rule('routing-not-to-config', '^src/routing/', '^src/config/', 'the router takes route specs; config validation uses the path rules from routing, not the reverse'),
    rule('balancer-not-up', '^src/balancer/', '^src/(upstream|proxy|health|resilience|admin|routing)/', 'balancers pick from candidates and know nothing else'),
    rule('health-not-to-proxy', '^src/(health|resilience)/', '^src/(proxy|admin)/', 'health and resilience sit below the hot path'),
    rule('config-not-to-runtime', '^src/config/', '^src/(proxy|upstream|health|resilience|admin|balancer)/', 'config is data; the runtime reads it, never the reverse'),
    rule('nothing-to-app', '^src/(?!main\\.ts$|index\\.ts$)', '^src/app\\.ts$', 'only the entry points build the gateway'),
    { name: 'no-circular', severity: 'error', from: { path: '^src/' }, to: { circular: true } },
  ],
  options: {
    parser: 'swc',
    tsPreCompilationDeps: false, // swc reads type-only imports too (checked: a type import across layers is reported)
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
  },
}

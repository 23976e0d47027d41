// Switchyard's routing config. Loaded at start (and on reload); checked with `npm run check`.
import type { GatewayConfig } from './src/index.ts'

export default {
  server: { host: '0.0.0.0', port: 8080 },
  admin: { host: '127.0.0.1', port: 9901 },
  pools: {
    payment: {
      targets: [
        'http://127.0.0.1:3001',
        { url: 'http://127.0.0.1:3002', weight: 2 },
        { url: 'http://127.0.0.1:3009', backup: true },
      ],
      balancer: 'round-robin',
      timeouts: { connectMs: 1000, requestMs: 30000 },
      healthCheck: { path: '/health', intervalMs: 2000, timeoutMs: 1000, healthyThreshold: 2, unhealthyThreshold: 3 },
    },
    member: {
      targets: ['http://127.0.0.1:3101', 'http://127.0.0.1:3102'],
      balancer: 'least-connections',
    },
  },
  routes: [
    { path: '/payment', pool: 'payment' },
    { path: '/member', pool: 'member' },
  ],
} satisfies GatewayConfig

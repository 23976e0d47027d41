// checkDnsTargetSpec takes every TCP port, 1 to 65535 both included: a Service on port 65535 (or 1) is as valid as
// the config schema says it is, and discovery must not refuse to start for it.
// (src/discovery/spec.ts, checkDnsTargetSpec.)
import t from 'tap'
import { checkDnsTargetSpec } from '../../src/discovery/spec.ts'

t.test('ports 1 and 65535 are accepted; 0 and 65536 are not', async (t) => {
  const spec = { dns: 'payment.default.svc.cluster.local', refreshMs: 5000 }
  t.doesNotThrow(() => checkDnsTargetSpec({ ...spec, port: 1 }), 'port 1')
  t.doesNotThrow(() => checkDnsTargetSpec({ ...spec, port: 65535 }), 'port 65535')
  for (const port of [0, 65536]) t.throws(() => checkDnsTargetSpec({ ...spec, port }), { code: 'invalid_config' }, `port ${port}`)
})

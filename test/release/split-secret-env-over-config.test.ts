// SWITCHYARD_SECRET wins over the config's secret for signing read-your-writes tokens (src/lifecycle/start-warnings.ts
// secretOf, as README's "the environment's secrets replace the file's"), review r41f: no test set both, so the
// config's taking precedence passed. A token a gateway with both signed pins a read on a replica configured with the
// environment's secret, and pins nothing on one configured with the file's.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

const FILE_SECRET = 'the-secret-in-the-config-file-of-32-chars'
const ENV_SECRET = 'the-secret-in-the-environment-of-32-chars'

t.test("a token signed with SWITCHYARD_SECRET, not the config's secret", async (t) => {
  const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
  t.teardown(() => Promise.all([primary.close(), replica.close()]))
  const config = (secret: string): GatewayConfig => ({
    secret,
    pools: { primary: { targets: [primary.url] }, replicas: { targets: [replica.url] } },
    routes: [{ name: 'm', path: '/m', pool: 'primary', reads: { pool: 'replicas', stickyAfterWriteMs: 30_000 } }],
  })
  const both = await startGateway(config(FILE_SECRET), { defaultMetrics: false, env: { SWITCHYARD_SECRET: ENV_SECRET } })
  t.teardown(() => both.close())
  const envReplica = await startGateway(config(ENV_SECRET), { defaultMetrics: false, env: {} })
  t.teardown(() => envReplica.close())
  const fileReplica = await startGateway(config(FILE_SECRET), { defaultMetrics: false, env: {} })
  t.teardown(() => fileReplica.close())

  const write = await httpRequest(`${both.url}/m/1`, { method: 'POST', body: '{}' })
  t.equal(write.status, 200)
  const token = write.headers['x-read-after-write'] as string
  t.type(token, 'string', 'the write is given a token')
  const servedBy = async (url: string): Promise<string> => (await httpRequest(`${url}/m/1`, { headers: { 'x-read-after-write': token } })).echo().name
  t.equal(await servedBy(envReplica.url), 'primary', "pinned where the environment's secret is the key")
  t.equal(await servedBy(fileReplica.url), 'replica', "not where the file's is")
})

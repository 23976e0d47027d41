// Routes are told apart by their id: two routes on one path that differ only by the headers they match are two
// rows, and the canary control of an unnamed route sets the weight of that route (POST /routes/<id>/canary).
import t from 'tap'
import { openDashboard } from './dashboard-page.ts'
import { waitUntil } from './wait.ts'

t.test('two unnamed routes on one path are two rows, each with its own canary control', async (t) => {
  const { admin, page } = await openDashboard(t)
  admin.status.routes.push(
    { id: '*/beta {x-beta=1}', path: '/beta', pool: 'catalog', headers: { 'x-beta': '1' }, canary: { pool: 'catalog-canary', weight: 5, weightSource: 'file' } },
    { id: '*/beta', path: '/beta', pool: 'catalog', canary: { pool: 'catalog-canary', weight: 0, weightSource: 'file' } },
  )
  admin.changed()
  const rows = page.locator('table.routes tbody tr')
  await waitUntil(async () => await rows.count() === admin.status.routes.length)
  t.same(await rows.evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-route'))).then((keys) => keys.slice(-2)), ['*/beta {x-beta=1}', '*/beta'])

  const plain = page.locator('tr[data-route="*/beta"]')
  await plain.getByRole('spinbutton').fill('30')
  await plain.getByRole('button', { name: 'set the canary weight of route */beta' }).click()
  await waitUntil(() => admin.calls.length === 1)
  t.same(admin.calls[0], { method: 'POST', url: `/routes/${encodeURIComponent('*/beta')}/canary`, authorization: undefined, body: { weight: 30 } })
  await waitUntil(async () => /canary catalog-canary: 30% \(set by operator\)/.test(await plain.innerText()))
  t.match(await page.locator('tr[data-route="*/beta {x-beta=1}"]').innerText(), /canary catalog-canary: 5%/, 'the other route keeps its weight')
})

// Routing over real sockets: segment-boundary prefixes, longest prefix, method and host narrowing, stripPrefix.
import t from 'tap'
import { httpRequest, type ErrorBody } from './http.ts'
import { gateway, upstream } from './setup.ts'

t.test('a prefix matches on a segment boundary and the query reaches the pool intact', async (t) => {
  const payment = await upstream(t, 'payment')
  const gw = await gateway(t, { pools: { payment: { targets: [payment.url] } }, routes: [{ path: '/payment', pool: 'payment' }] })

  for (const path of ['/payment', '/payment/', '/payment/x?y=1', '/payment/x/y?a=1&b=%20c', '/payment?q=1']) {
    const res = await httpRequest(gw.url + path)
    t.equal(res.status, 200, `${path} is routed`)
    const echo = res.echo()
    t.equal(echo.name, 'payment', `${path} reaches the payment pool`)
    t.equal(echo.url, path, `${path} is forwarded unchanged, query included`)
  }

  for (const path of ['/paymentX', '/paymentX/y', '/paymen', '/', '/other/payment']) {
    const res = await httpRequest(gw.url + path)
    t.equal(res.status, 404, `${path} is not routed`)
    t.equal(res.json<ErrorBody>().error, 'no_route')
  }
  t.equal(payment.hits, 5, 'only the matching requests reached the upstream')
})

t.test('the longest matching prefix wins', async (t) => {
  const api = await upstream(t, 'api')
  const v2 = await upstream(t, 'v2')
  const gw = await gateway(t, {
    pools: { api: { targets: [api.url] }, v2: { targets: [v2.url] } },
    // declared shortest first: order in the config must not matter
    routes: [{ path: '/api', pool: 'api' }, { path: '/api/v2', pool: 'v2' }],
  })

  const cases: Array<[string, string]> = [
    ['/api', 'api'],
    ['/api/v1/users', 'api'],
    ['/api/v2', 'v2'],
    ['/api/v2/', 'v2'],
    ['/api/v2/users?id=7', 'v2'],
    ['/api/v20', 'api'],
    ['/api/v2x/users', 'api'],
  ]
  for (const [path, pool] of cases) {
    const res = await httpRequest(gw.url + path)
    t.equal(res.status, 200, path)
    t.equal(res.echo().name, pool, `${path} → ${pool}`)
    t.equal(res.echo().url, path)
  }
})

t.test('methods narrow a route', async (t) => {
  const reader = await upstream(t, 'reader')
  const writer = await upstream(t, 'writer')
  const gw = await gateway(t, {
    pools: { reader: { targets: [reader.url] }, writer: { targets: [writer.url] } },
    routes: [
      { path: '/readonly', pool: 'reader', methods: ['GET'] },
      { path: '/orders', pool: 'reader', methods: ['GET', 'HEAD'] },
      { path: '/orders', pool: 'writer' },
    ],
  })

  const get = await httpRequest(gw.url + '/readonly/1')
  t.equal(get.status, 200)
  t.equal(get.echo().name, 'reader')

  const post = await httpRequest(gw.url + '/readonly/1', { method: 'POST', body: 'x' })
  t.equal(post.status, 404, 'POST to a GET-only route is not routed')
  t.equal(post.json<ErrorBody>().error, 'no_route')
  const del = await httpRequest(gw.url + '/readonly', { method: 'DELETE' })
  t.equal(del.status, 404)
  t.equal(del.json<ErrorBody>().error, 'no_route')

  const getOrders = await httpRequest(gw.url + '/orders/9')
  t.equal(getOrders.echo().name, 'reader', 'GET takes the method-bound route')
  const postOrders = await httpRequest(gw.url + '/orders/9', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })
  t.equal(postOrders.status, 200, 'POST falls through to the any-method route')
  t.equal(postOrders.echo().name, 'writer')
  t.equal(postOrders.echo().method, 'POST')
  t.equal(postOrders.echo().bodyBytes, 2)
  const head = await httpRequest(gw.url + '/orders/9', { method: 'HEAD' })
  t.equal(head.status, 200)
  t.equal(reader.requests.at(-1)?.method, 'HEAD', 'HEAD goes to the route listing it')
})

t.test('host narrows a route (port and case ignored)', async (t) => {
  const shop = await upstream(t, 'shop')
  const other = await upstream(t, 'other')
  const gw = await gateway(t, {
    pools: { shop: { targets: [shop.url] }, other: { targets: [other.url] } },
    routes: [
      { path: '/h', pool: 'shop', host: 'shop.example' },
      { path: '/h', pool: 'other' },
      { path: '/only', pool: 'shop', host: 'shop.example' },
    ],
  })

  for (const host of ['shop.example', 'shop.example:8080', 'SHOP.Example']) {
    const res = await httpRequest(gw.url + '/h/x', { headers: { host } })
    t.equal(res.status, 200)
    t.equal(res.echo().name, 'shop', `Host ${host} takes the host-bound route`)
  }
  const elsewhere = await httpRequest(gw.url + '/h/x', { headers: { host: 'www.example' } })
  t.equal(elsewhere.echo().name, 'other', 'another host takes the any-host route')

  const only = await httpRequest(gw.url + '/only', { headers: { host: 'shop.example' } })
  t.equal(only.status, 200)
  const wrongHost = await httpRequest(gw.url + '/only', { headers: { host: 'www.example' } })
  t.equal(wrongHost.status, 404)
  t.equal(wrongHost.json<ErrorBody>().error, 'no_route')
})

t.test('stripPrefix forwards the rest of the path', async (t) => {
  const svc = await upstream(t, 'svc')
  const gw = await gateway(t, {
    pools: { svc: { targets: [svc.url] } },
    routes: [{ path: '/payment', pool: 'svc', stripPrefix: true }, { path: '/deep/er/', pool: 'svc', stripPrefix: true }],
  })

  const cases: Array<[string, string]> = [
    ['/payment/x', '/x'],
    ['/payment', '/'],
    ['/payment/', '/'],
    ['/payment/x/y?z=1', '/x/y?z=1'],
    ['/payment?z=1', '/?z=1'],
    ['/deep/er/a', '/a'],
    ['/deep/er', '/'],
  ]
  for (const [path, forwarded] of cases) {
    const res = await httpRequest(gw.url + path)
    t.equal(res.status, 200, path)
    t.equal(res.echo().url, forwarded, `${path} is forwarded as ${forwarded}`)
  }
  const miss = await httpRequest(gw.url + '/paymentx')
  t.equal(miss.status, 404)
})

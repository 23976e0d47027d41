import t from 'tap'
import { parseWrkOutput, wrkBodyScript } from '../../bench/wrk.ts'

const clean = `Running 10s test @ http://127.0.0.1:8080/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.04ms  234.12us   5.67ms   89.12%
    Req/Sec    48.12k     2.12k   52.00k    80.00%
  Latency Distribution
     50%    1.01ms
     75%    1.10ms
     90%    1.22ms
     99%  812.00us
  482345 requests in 10.00s, 60.12MB read
Requests/sec:  48223.45
Transfer/sec:      6.01MB
`

const troubled = `Running 5s test @ http://127.0.0.1:8080/upload
  1 threads and 256 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   401.12ms  100.00ms   1.20s    70.00%
    Req/Sec   600.00     50.00   700.00     80.00%
  Latency Distribution
     50%  400.00ms
     75%  450.00ms
     90%  600.00ms
     99%    1.20s
  3000 requests in 5.00s, 1.00MB read
  Socket errors: connect 1, read 2, write 3, timeout 4
  Non-2xx or 3xx responses: 17
Requests/sec:    600.00
Transfer/sec:    204.80KB
`

t.test('a clean run: requests, rate from the count, p99 in ms whatever wrk unit', async (t) => {
  t.same(parseWrkOutput(clean), { requests: 482345, seconds: 10, requestsPerSecond: 48234.5, p99Ms: 0.812, non2xx: 0, socketErrors: 0 })
})

t.test('socket errors are summed, non-2xx counted, seconds as a unit', async (t) => {
  t.same(parseWrkOutput(troubled), { requests: 3000, seconds: 5, requestsPerSecond: 600, p99Ms: 1200, non2xx: 17, socketErrors: 10 })
})

t.test('minutes as the run length', async (t) => {
  const r = parseWrkOutput(clean.replace('in 10.00s', 'in 1.00m'))
  t.equal(r.seconds, 60)
  t.equal(r.requestsPerSecond, 482345 / 60)
})

t.test('no summary (wrk could not connect) is an error, not zeros', async (t) => {
  t.throws(() => parseWrkOutput('unable to connect to 127.0.0.1:1 Connection refused\n'))
  t.throws(() => parseWrkOutput(clean.replace(/^\s+99%.*$/m, '')), 'no p99 without --latency')
})

t.test('the body script sets method, body and content type once', async (t) => {
  t.equal(wrkBodyScript(1048576, 'application/octet-stream'),
    'wrk.method = "POST"\nwrk.body = string.rep("x", 1048576)\nwrk.headers["Content-Type"] = "application/octet-stream"\n')
})

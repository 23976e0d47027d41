// SIGQUIT (nginx's graceful quit) is one of main.ts's own stop signals (src/main.ts STOP_SIGNALS), held to the same
// rules as SIGTERM and SIGINT: the shutdown's log line names it, and the same SIGQUIT again within SAME_STOP_MS (a
// process group's and npm's forward of it) is one stop, drained to the end with exit 0. Left to close-with-grace, a
// copy 20 ms later was a second stop (exit 1, the request in flight cut) and "shutting down" named no signal.
import t from 'tap'
import { slowUpstreamConfig, startCli } from '../helpers/cli-process.ts'

t.test('SIGQUIT twice, 20 ms apart: one graceful stop, named in the log, the request answered, exit 0', async (t) => {
  const { file, slow } = await slowUpstreamConfig(t, 1500)
  const cli = await startCli(t, file)
  const answer = fetch(`${cli.url}/held`).then(async (r) => { await r.arrayBuffer(); return r.status }, () => 'cut')
  while (slow.requests.length < 1) await new Promise((resolve) => setTimeout(resolve, 20))
  cli.kill('SIGQUIT')
  await new Promise((resolve) => setTimeout(resolve, 20))
  cli.kill('SIGQUIT')
  t.strictSame(await cli.exited, { code: 0, signal: null }, 'exit 0')
  t.equal(await answer, 200, 'the request in flight answered')
  t.match(cli.records.find((r) => r.msg === 'shutting down'), { signal: 'SIGQUIT' }, 'the shutdown names its signal')
  t.notOk(cli.records.some((r) => r.level === 40), 'no "second signal" warning')
})

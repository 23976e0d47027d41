// Preloaded into a contender by bench/alloc-profile.ts (`--import`): V8's sampling heap profiler, keeping the
// samples of objects already collected too, so it tells where a request's garbage is allocated, not only what
// stays. The first SIGUSR2 starts it, the second writes the profile to $ALLOC_PROFILE_OUT.
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector'

const session = new Session()
session.connect()
let sampling = false
process.on('SIGUSR2', () => {
  if (!sampling) {
    sampling = true
    session.post('HeapProfiler.startSampling', { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
    return
  }
  session.post('HeapProfiler.stopSampling', (err, result) => {
    if (err !== null) throw err
    writeFileSync(process.env.ALLOC_PROFILE_OUT!, JSON.stringify(result.profile))
    process.stderr.write('allocation profile written\n')
  })
})

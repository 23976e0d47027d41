// The Kubernetes manifests, read as the cluster would read them: every cross-reference between them (ports,
// probes, labels, Secret keys, the config file's path) and the ConfigMap's config through the real `check` command.
// No cluster runs here, so nothing is applied; what can be checked from the files is.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { parseAllDocuments } from 'yaml'
import { parseArgs } from '../../src/cli/args.ts'
import { loadConfigFile } from '../../src/config/load.ts'

type Labels = Record<string, string>
interface Manifest { apiVersion: string; kind: string; metadata: { name: string; labels?: Labels } }
interface SecurityContext {
  runAsNonRoot?: boolean
  runAsUser?: number
  privileged?: boolean
  readOnlyRootFilesystem?: boolean
  allowPrivilegeEscalation?: boolean
  capabilities?: { drop?: string[]; add?: string[] }
}
interface Probe { httpGet?: { path: string; port: number | string; scheme?: string } }
type Quantity = string | number
interface Container {
  name: string
  command?: string[]
  args?: string[]
  ports?: { name?: string; containerPort: number }[]
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[]
  readinessProbe?: Probe
  livenessProbe?: Probe
  resources?: { requests?: Record<string, Quantity>; limits?: Record<string, Quantity> }
  securityContext?: SecurityContext
  volumeMounts?: { name: string; mountPath: string; subPath?: string; readOnly?: boolean }[]
}
interface Deployment extends Manifest {
  spec: {
    replicas?: number
    selector: { matchLabels: Labels }
    template: {
      metadata: { labels: Labels; annotations?: Record<string, string> }
      spec: {
        terminationGracePeriodSeconds?: number
        securityContext?: SecurityContext
        topologySpreadConstraints?: { labelSelector: { matchLabels: Labels } }[]
        containers: Container[]
        volumes?: { name: string; configMap?: { name: string; items?: { key: string; path: string }[] }; emptyDir?: Record<string, unknown> }[]
      }
    }
  }
}
interface Service extends Manifest { spec: { selector: Labels; ports: { name?: string; port: number; targetPort?: number | string }[] } }
interface ConfigMap extends Manifest { data: Record<string, string> }
interface Secret extends Manifest { data?: Record<string, string>; stringData?: Record<string, string> }
interface Hpa extends Manifest {
  spec: {
    scaleTargetRef: { apiVersion: string; kind: string; name: string }
    minReplicas: number
    maxReplicas: number
    metrics: { type: string; resource?: { name: string; target: { type: string; averageUtilization?: number } } }[]
  }
}
interface Pdb extends Manifest { spec: { selector: { matchLabels: Labels }; maxUnavailable?: number; minAvailable?: number } }

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const NODE = join(ROOT, 'node_modules/.bin/node')
const MANIFEST_DIR = join(ROOT, 'deploy/kubernetes')
const KINDS = ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Secret', 'Service']
const API_VERSIONS: Record<string, string> = {
  ConfigMap: 'v1',
  Deployment: 'apps/v1',
  HorizontalPodAutoscaler: 'autoscaling/v2',
  PodDisruptionBudget: 'policy/v1',
  Secret: 'v1',
  Service: 'v1',
}
const CONFIG_KEY = 'routes.config.mjs'

// every YAML file, each parsed into all of its documents
const files = readdirSync(MANIFEST_DIR).filter((f) => /\.ya?ml$/.test(f)).sort().map((name) => {
  const docs = parseAllDocuments(readFileSync(join(MANIFEST_DIR, name), 'utf8'))
  const list = Array.isArray(docs) ? docs : []
  return { name, errors: list.flatMap((d) => d.errors.map((e) => e.code)), manifests: list.map((d) => d.toJS() as Manifest) }
})
const manifests = files.flatMap((f) => f.manifests)

function one<M extends Manifest> (kind: string): M {
  const found = manifests.filter((m) => m.kind === kind)
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`)
  return found[0] as M
}
const deployment = one<Deployment>('Deployment')
const service = one<Service>('Service')
const configMap = one<ConfigMap>('ConfigMap')
const secret = one<Secret>('Secret')
const hpa = one<Hpa>('HorizontalPodAutoscaler')
const pdb = one<Pdb>('PodDisruptionBudget')
const pod = deployment.spec.template.spec
const container = pod.containers[0]!

// The image side of the contract, from the Dockerfile: the entrypoint, default args and env, exposed ports, user.
const dockerInstructions = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ').split('\n')
  .map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
const dockerArgv = (op: string): string[] =>
  JSON.parse(dockerInstructions.findLast((l) => l.startsWith(`${op} `))!.slice(op.length + 1)) as string[]
const dockerExposed = dockerInstructions.filter((l) => l.startsWith('EXPOSE ')).flatMap((l) => l.split(/\s+/).slice(1)).map((p) => Number.parseInt(p, 10))
const dockerConfigEnv = /SWITCHYARD_CONFIG=(\S+)/.exec(dockerInstructions.filter((l) => l.startsWith('ENV ')).join(' '))?.[1]
const dockerUser = dockerInstructions.findLast((l) => l.startsWith('USER '))?.slice('USER '.length)

// The ConfigMap's config, written where a real `check` run and an in-process load can read it.
const configDir = mkdtempSync(join(tmpdir(), 'switchyard-k8s-'))
t.teardown(() => rmSync(configDir, { recursive: true, force: true }))
const configFile = join(configDir, CONFIG_KEY)
writeFileSync(configFile, configMap.data[CONFIG_KEY] ?? '')
/**
 * The container's environment as a deployed pod gets it: plain values, and each secretKeyRef set, as the Secret's
 * instructions say, to a random value (its REPLACE-ME examples are refused on purpose).
 */
const podEnv: Record<string, string> = {}
for (const e of container.env ?? []) {
  const value = e.value ?? (e.valueFrom?.secretKeyRef !== undefined ? randomBytes(32).toString('hex') : undefined)
  if (value !== undefined) podEnv[e.name] = value
}
// with the pod's environment: the admin token it gets from the Secret is what keeps `check` from warning of an admin
// listener on 0.0.0.0 without one
const checkRun = runCheck(configFile)
// an invalid config ends this file here, with its problems listed; the temp dir goes with it
const config = await loadConfigFile(configFile).catch((err: unknown) => { rmSync(configDir, { recursive: true, force: true }); throw err })
// the ConfigMap's config as validated: its shutdown plan, defaults included
const shutdown = config.shutdown

function runCheck (file: string): Promise<{ code: number | null; stderr: string }> {
  const env = { ...process.env, ...podEnv }
  delete env.NODE_OPTIONS // the test runner's hooks are not part of the CLI
  return new Promise((resolve, reject) => {
    const proc = spawn(NODE, ['src/main.ts', 'check', '--config', file], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    proc.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    proc.once('error', reject)
    proc.once('close', (code) => resolve({ code, stderr }))
  })
}

/** A probe's or Service's port, by number or by the container port's name. */
function containerPort (port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port
  return container.ports?.find((p) => p.name === port)?.containerPort
}

/** CPU quantity in cores: 1, "1", "1000m", "0.5". */
function cores (q: Quantity | undefined): number {
  if (q === undefined) return Number.NaN
  const s = String(q)
  return s.endsWith('m') ? Number(s.slice(0, -1)) / 1000 : Number(s)
}

/** Memory quantity in bytes, for the binary suffixes a manifest uses. */
function bytes (q: Quantity | undefined): number {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(String(q))
  if (m === null) return Number.NaN
  return Number(m[1]) * ({ Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[m[2] as 'Ki' | 'Mi' | 'Gi'] ?? 1)
}

const includes = (labels: Labels | undefined, subset: Labels): boolean =>
  Object.entries(subset).every(([k, v]) => labels?.[k] === v)

t.test('one manifest per file, one file per kind, and every kind is there', async (t) => {
  for (const f of files) {
    t.same(f.errors, [], `${f.name} parses`)
    t.equal(f.manifests.length, 1, `${f.name} holds one manifest`)
  }
  t.same(manifests.map((m) => m.kind).sort(), KINDS)
  for (const m of manifests) t.equal(m.apiVersion, API_VERSIONS[m.kind], `${m.kind} apiVersion`)
})

t.test('the ConfigMap config passes the real check command', async (t) => {
  const run = await checkRun
  t.equal(run.code, 0)
  t.equal(run.stderr, '')
})

t.test('the container starts with --config pointing at the ConfigMap key, mounted as a directory', async (t) => {
  t.equal(pod.containers.length, 1)
  // Kubernetes: `command` replaces ENTRYPOINT, `args` replaces CMD (and a `command` alone drops CMD)
  const argv = [...(container.command ?? dockerArgv('ENTRYPOINT')), ...(container.args ?? (container.command ? [] : dockerArgv('CMD')))]
  t.equal(argv[0], 'node')
  const main = argv.indexOf('src/start.mjs')
  t.ok(main > 0, 'runs src/start.mjs (the entry that runs src/main.ts)')
  const env: NodeJS.ProcessEnv = { SWITCHYARD_CONFIG: dockerConfigEnv }
  for (const e of container.env ?? []) if (e.value !== undefined) env[e.name] = e.value
  const cli = parseArgs(argv.slice(main + 1), env)
  t.equal(cli.command, 'run')

  const volume = pod.volumes?.find((v) => v.configMap?.name === configMap.metadata.name)
  t.ok(volume, 'a volume from the ConfigMap')
  const mounts = container.volumeMounts?.filter((m) => m.name === volume?.name) ?? []
  t.equal(mounts.length, 1)
  const mount = mounts[0]!
  t.equal(mount.subPath, undefined, 'no subPath: it would never see ConfigMap updates')
  t.equal(mount.readOnly, true)
  const fileName = volume?.configMap?.items?.find((i) => i.key === CONFIG_KEY)?.path ?? CONFIG_KEY
  t.equal(posix.join(mount.mountPath, fileName), cli.configFile)
})

t.test('probes hit /readyz and /healthz on the config\'s admin port', async (t) => {
  t.ok(config.admin.host === '0.0.0.0' || config.admin.host === '::', 'admin listens on all interfaces so kubelet probes reach it')
  t.ok(container.ports?.some((p) => p.containerPort === config.admin.port), 'the container declares the admin port')
  t.ok(container.ports?.some((p) => p.containerPort === config.server.port), 'the container declares the public port')
  const probes = { readinessProbe: '/readyz', livenessProbe: '/healthz' } as const
  for (const [probe, path] of Object.entries(probes)) {
    const get = container[probe as keyof typeof probes]?.httpGet
    t.ok(get, `${probe} is an HTTP probe`)
    t.equal(get?.path, path, `${probe} path`)
    t.equal(containerPort(get?.port), config.admin.port, `${probe} port`)
    t.not(get?.scheme, 'HTTPS', `${probe} speaks plain HTTP like the admin listener`)
  }
})

// /metrics is served on the admin port, which the Service leaves out: without these Prometheus finds nothing to scrape
t.test('the pod template tells Prometheus where /metrics is', async (t) => {
  const annotations = deployment.spec.template.metadata.annotations ?? {}
  t.equal(annotations['prometheus.io/scrape'], 'true')
  t.equal(Number(annotations['prometheus.io/port']), config.admin.port, 'the admin port')
  t.equal(annotations['prometheus.io/path'], '/metrics')
})

t.test('the image exposes every port the pod declares', async (t) => {
  for (const p of container.ports ?? []) t.ok(dockerExposed.includes(p.containerPort), `EXPOSE ${p.containerPort}`)
})

t.test('the grace period outlasts the shutdown delay plus the in-flight timeout', async (t) => {
  const grace = pod.terminationGracePeriodSeconds
  t.type(grace, 'number')
  t.ok(grace! > (shutdown.delayMs + shutdown.timeoutMs) / 1000, `${grace}s > (${shutdown.delayMs} + ${shutdown.timeoutMs}) ms`)
})

t.test('non-root, read-only root filesystem, no privilege escalation, no capabilities', async (t) => {
  // container fields override the pod's
  const sc: SecurityContext = { ...pod.securityContext, ...container.securityContext }
  t.equal(sc.runAsNonRoot, true)
  const uid = sc.runAsUser ?? Number(dockerUser?.split(':')[0])
  t.ok(Number.isInteger(uid) && uid > 0, 'a numeric non-zero uid, which runAsNonRoot can verify')
  t.equal(sc.readOnlyRootFilesystem, true)
  t.equal(sc.allowPrivilegeEscalation, false)
  t.not(sc.privileged, true)
  t.ok(sc.capabilities?.drop?.includes('ALL'), 'drops ALL capabilities')
  t.same(sc.capabilities?.add ?? [], [])
})

t.test('beside the read-only root: a writable /tmp for the process, and a config that needs no TypeScript stripper', async (t) => {
  const tmp = container.volumeMounts?.find((m) => m.mountPath === '/tmp')
  t.ok(tmp, 'a writable volume at /tmp for the process (the compile cache is in the image)')
  t.not(tmp?.readOnly, true)
  t.ok(pod.volumes?.find((v) => v.name === tmp?.name)?.emptyDir, 'an emptyDir')
  t.match(CONFIG_KEY, /\.(mjs|js|json)$/, 'plain JavaScript or JSON: loading and reloading it never loads the stripper')
})

t.test('one CPU per pod, memory bounded', async (t) => {
  const { requests, limits } = container.resources ?? {}
  t.equal(cores(requests?.cpu), 1)
  t.equal(cores(limits?.cpu), 1)
  t.ok(bytes(requests?.memory) > 0, 'memory request')
  t.ok(bytes(limits?.memory) >= bytes(requests?.memory), 'memory limit at least the request')
})

t.test('the admin token and the shared secret come from the Secret', async (t) => {
  const keys = new Set([...Object.keys(secret.data ?? {}), ...Object.keys(secret.stringData ?? {})])
  for (const name of ['SWITCHYARD_ADMIN_TOKEN', 'SWITCHYARD_SECRET']) {
    const ref = container.env?.find((e) => e.name === name)?.valueFrom?.secretKeyRef
    t.ok(ref, `${name} from a secretKeyRef`)
    t.equal(ref?.name, secret.metadata.name, `${name}: the Secret's name`)
    t.ok(ref !== undefined && keys.has(ref.key), `${name}: key '${ref?.key}' exists in the Secret`)
  }
})

t.test('selectors match the pod labels', async (t) => {
  const selector = deployment.spec.selector.matchLabels
  const podLabels = deployment.spec.template.metadata.labels
  t.ok(Object.keys(selector).length > 0)
  t.ok(includes(podLabels, selector), 'Deployment selector matches its own pods')
  t.same(service.spec.selector, selector, 'Service')
  t.same(pdb.spec.selector.matchLabels, selector, 'PodDisruptionBudget')
  for (const spread of pod.topologySpreadConstraints ?? []) t.same(spread.labelSelector.matchLabels, selector, 'topology spread')
  t.same(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name }, 'HPA target')
  for (const m of manifests) t.ok(includes(m.metadata.labels, selector), `${m.kind} carries the app labels`)
})

t.test('the Service sends traffic to the public listener only', async (t) => {
  t.ok(service.spec.ports.length > 0)
  for (const p of service.spec.ports) {
    t.equal(containerPort(p.targetPort ?? p.port), config.server.port, `Service port ${p.port} targets server.port`)
  }
})

t.test('the HPA scales on CPU and the PDB can always evict one pod', async (t) => {
  t.equal(deployment.spec.replicas, undefined, 'the HPA owns the replica count, re-applying must not reset it')
  t.ok(hpa.spec.metrics.some((m) => m.type === 'Resource' && m.resource?.name === 'cpu' && m.resource.target.type === 'Utilization'))
  t.ok(hpa.spec.minReplicas >= 2, 'never a single gateway pod')
  t.ok(hpa.spec.maxReplicas >= hpa.spec.minReplicas)
  const { maxUnavailable, minAvailable } = pdb.spec
  t.ok((maxUnavailable === undefined) !== (minAvailable === undefined), 'exactly one of maxUnavailable, minAvailable')
  const evictable = maxUnavailable ?? hpa.spec.minReplicas - minAvailable!
  t.ok(Number.isInteger(evictable) && evictable >= 1, 'node drains can proceed at minReplicas')
  t.ok(evictable < hpa.spec.minReplicas, 'and never take every pod at once')
})

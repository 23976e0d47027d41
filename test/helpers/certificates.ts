// Certificates made at test time with the openssl command, as test/proxy/tls.test.ts makes its own: a CA, the
// certificates it signs (leaves and intermediates) and self-signed ones, each valid for a day. EC P-256 keys: quick to
// make.
import { execFileSync } from 'node:child_process'
import { randomInt } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface Certificate {
  key: string
  cert: string
  keyPath: string
  certPath: string
}

const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

export class CertificateMaker {
  readonly #dir: string

  /** Files go to a fresh temporary folder; remove() deletes it. */
  constructor () {
    this.#dir = mkdtempSync(join(tmpdir(), 'switchyard-certs-'))
  }

  /** A self-signed CA certificate. */
  ca (name: string): Certificate {
    return this.#selfSigned(name, ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'])
  }

  /** A self-signed server certificate; `subjectAltName` as openssl writes it ('DNS:localhost', 'IP:127.0.0.1'). */
  selfSigned (name: string, subjectAltName: string): Certificate {
    return this.#selfSigned(name, ['basicConstraints=critical,CA:FALSE', `subjectAltName=${subjectAltName}`])
  }

  /** A server certificate signed by `issuer`. */
  leaf (name: string, issuer: Certificate, subjectAltName: string): Certificate {
    return this.#signed(name, issuer, ['basicConstraints=critical,CA:FALSE', `subjectAltName=${subjectAltName}`])
  }

  /** An intermediate CA signed by `issuer`. */
  intermediate (name: string, issuer: Certificate): Certificate {
    return this.#signed(name, issuer, ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'])
  }

  remove (): void {
    rmSync(this.#dir, { recursive: true, force: true })
  }

  #selfSigned (name: string, extensions: string[]): Certificate {
    const keyPath = join(this.#dir, `${name}.key`)
    const certPath = join(this.#dir, `${name}.crt`)
    openssl(['req', '-x509', ...NEW_KEY, '-subj', `/CN=${name}`, '-keyout', keyPath, '-out', certPath, '-days', '1',
      ...extensions.flatMap((e) => ['-addext', e])])
    return read(keyPath, certPath)
  }

  #signed (name: string, issuer: Certificate, extensions: string[]): Certificate {
    const keyPath = join(this.#dir, `${name}.key`)
    const csrPath = join(this.#dir, `${name}.csr`)
    const extPath = join(this.#dir, `${name}.ext`)
    const certPath = join(this.#dir, `${name}.crt`)
    openssl(['req', ...NEW_KEY, '-subj', `/CN=${name}`, '-keyout', keyPath, '-out', csrPath])
    writeFileSync(extPath, extensions.join('\n') + '\n')
    openssl(['x509', '-req', '-in', csrPath, '-CA', issuer.certPath, '-CAkey', issuer.keyPath,
      '-set_serial', String(randomInt(1, 2 ** 47)), '-days', '1', '-extfile', extPath, '-out', certPath])
    return read(keyPath, certPath)
  }
}

function openssl (args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' })
}

function read (keyPath: string, certPath: string): Certificate {
  return { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8'), keyPath, certPath }
}

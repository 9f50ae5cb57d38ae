/**
 * The join token of a cluster, k3s-style: `K10<sha256 of the CA certificate, hex>::server:<secret>`.
 * The hash lets a joining agent pin the cluster CA on first contact; the secret is a bootstrap
 * token (`<id>.<secret>`) that authenticates only to ask for a node certificate.
 */
import { randomInt } from 'node:crypto';

export interface NodeToken {
  /** SHA-256 of the CA certificate's DER, lower-case hex. */
  caHash: string;
  /** The bootstrap token, `<6 of [a-z0-9]>.<16 of [a-z0-9]>`. */
  bootstrapToken: string;
}

const RE = /^K10([0-9a-f]{64})::server:([a-z0-9]{6}\.[a-z0-9]{16})$/;

export function formatNodeToken(t: NodeToken): string {
  return `K10${t.caHash}::server:${t.bootstrapToken}`;
}

/** Parses a node token; throws saying what is wrong. */
export function parseNodeToken(text: string): NodeToken {
  const m = RE.exec(text.trim());
  if (!m) throw new Error('not a skiff node token: expected K10<sha256 of the cluster CA>::server:<token-id>.<token-secret> (the server writes it to DATA_DIR/node-token)');
  return { caHash: m[1], bootstrapToken: m[2] };
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A fresh bootstrap token. */
export function newBootstrapToken(): string {
  const pick = (n: number) => Array.from({ length: n }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
  return `${pick(6)}.${pick(16)}`;
}

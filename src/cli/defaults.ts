/** Defaults shared by every skiff command. */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** /var/lib/skiff as root (as ARCHITECTURE.md says), a per-user directory otherwise. */
export const DEFAULT_DATA_DIR = process.getuid?.() === 0 ? '/var/lib/skiff' : join(homedir(), '.local/share/skiff');

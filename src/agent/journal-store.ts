import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { JournalError } from '../lib/errors.js';

/** What reading the journal file found. */
export type StoreRead = { status: 'ok'; text: string } | { status: 'missing' } | { status: 'unreadable'; error: unknown };

/**
 * The journal file on disk: whole-file atomic replacement (write a temp file, fsync it, rename it
 * over the old one, fsync the folder), so a crash or power cut leaves either the old or the new
 * file, never a torn one.
 */
export class JournalStore {
  readonly path: string;
  /** Numbers this writer's temp files: each write has its own, so two writers never share one. */
  private writes = 0;
  private readonly id = Math.random().toString(36).slice(2, 10);

  constructor(readonly dir: string, name = 'journal.json') {
    this.path = join(dir, name);
  }

  /**
   * Reads the file's text. Temp files a killed writer left beside it are removed first (they hold
   * a write that never became the journal).
   */
  async read(): Promise<StoreRead> {
    await this.sweep();
    try {
      return { status: 'ok', text: await readFile(this.path, 'utf8') };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'missing' };
      return { status: 'unreadable', error };
    }
  }

  /** Atomically replaces the file with `text`; throws JournalError when the disk refuses. */
  async write(text: string): Promise<void> {
    // Unique per writer and write: a stopping agent and its successor may write at the same time.
    // (Not node:crypto: loading it costs megabytes of RSS for a name.)
    const tmp = `${this.path}.${process.pid}.${++this.writes}.${this.id}.tmp`;
    try {
      await mkdir(this.dir, { recursive: true });
      const file = await open(tmp, 'w', 0o600);
      try {
        await file.writeFile(text, 'utf8');
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(tmp, this.path);
      await syncDir(dirname(this.path));
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw new JournalError(`cannot write the journal in ${this.dir}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
    }
  }

  /** Moves a corrupt file aside (`<name>.<time>.corrupt`) so it can be inspected; returns the new path. */
  async quarantine(wall: number): Promise<string | undefined> {
    const aside = `${this.path}.${wall}.corrupt`;
    try {
      await rename(this.path, aside);
      await syncDir(this.dir);
      return aside;
    } catch {
      return undefined;
    }
  }

  /** Removes temp files older than a minute (a younger one may be a stopping predecessor's write in progress). */
  private async sweep(): Promise<void> {
    const base = basename(this.path);
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const name of names) {
      if (!name.startsWith(`${base}.`) || !name.endsWith('.tmp')) continue;
      const path = join(this.dir, name);
      const age = await stat(path).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > 60_000) await unlink(path).catch(() => undefined);
    }
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (err) {
    // Some filesystems refuse fsync on a directory; the rename is still atomic there.
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL' && (err as NodeJS.ErrnoException).code !== 'EISDIR') throw err;
  } finally {
    await handle.close();
  }
}

/**
 * htpasswd lines for distribution's `auth.htpasswd`, which only accepts bcrypt. Node has no bcrypt and
 * Debian's `htpasswd` (apache2-utils) is not installed, so the hash comes from the C library's crypt(3)
 * through Perl (perl-base is always there on Debian/Ubuntu; libxcrypt implements `$2b$`).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A bcrypt hash of `password` (cost 5: tests need speed, not strength). */
export function bcryptHash(password: string, cost = 5): string {
  const bytes = randomBytes(22);
  // The 22nd character carries only 2 significant bits in bcrypt's encoding; 'u' keeps them canonical.
  const salt = Array.from(bytes.subarray(0, 21), (b) => BCRYPT_ALPHABET[b & 63]).join('') + 'u';
  const hash = execFileSync('perl', ['-e', 'print crypt($ARGV[0], $ARGV[1])', password, `$2b$${String(cost).padStart(2, '0')}$${salt}`], { encoding: 'utf8' });
  if (!/^\$2b\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) throw new Error(`this system's crypt(3) cannot make bcrypt hashes (got ${JSON.stringify(hash)})`);
  return hash;
}

/** The htpasswd file's content for these users. */
export function htpasswdFile(users: Record<string, string>): string {
  return Object.entries(users)
    .map(([user, password]) => `${user}:${bcryptHash(password)}\n`)
    .join('');
}

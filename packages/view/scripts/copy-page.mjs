// Copies the page's static files (HTML, CSS) next to the compiled app.js in dist/page.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
mkdirSync(join(root, 'dist/page'), { recursive: true });
for (const name of ['index.html', 'style.css'])
  copyFileSync(join(root, 'src/page', name), join(root, 'dist/page', name));

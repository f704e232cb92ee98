// Where the built pages are, for the gateway that serves them.
import { fileURLToPath } from 'node:url';

export const storefrontDistDir = fileURLToPath(new URL('./dist/', import.meta.url));

/** Absolute path of the built pages (`vite build` → dist/), ending with a slash. */
export declare const storefrontDistDir: string;

export { loadConfig, ConfigError } from './load-config.js';
export { env } from './fields.js';
export { z } from 'zod';

export { runService, type RunningService, type ServiceProcess } from './run-service.js';

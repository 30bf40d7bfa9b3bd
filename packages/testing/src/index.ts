export { startRedis, type TestRedis } from './redis-server.js';
export {
  CHROMIUM,
  CURL,
  checkProgram,
  describeWithProgram,
  findProgram,
  type ProgramCheck,
  REDIS_SERVER,
  type SystemProgram,
} from './system-program.js';

export { exportWeb } from '@cbtm/pipeline';

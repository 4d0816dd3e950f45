export { renderModelCard } from './card.js';
export {
  type BackendOptions,
  type Backends,
  defaultStores,
  openBackends,
  openProjectBackends,
} from './open.js';
export { formatReference, looksLikeReference, type ModelReference, parseReference } from './reference.js';
export { registerRun, shouldRegister } from './register-run.js';
export { defaultActor, type RegisterInput, Registry, type RegistryOptions } from './registry.js';

import { HttpError } from '../http-error.js';
import type { Handler, ServerState } from './handler.js';

/** One model of `/v1/models`, as OpenAI describes it. */
function modelObject(id: string, state: ServerState) {
  return { id, object: 'model', created: state.created, owned_by: 'cbtm' };
}

/** `GET /v1/models` → `{ object: 'list', data: [{ id, object: 'model', created, owned_by }] }`. */
export const listModels: Handler = async (_body, _ctx, state) => {
  return {
    object: 'list',
    data: state.models.map((id) => modelObject(id, state)),
  };
};

/** `GET /v1/models/{id}` → the model, or a 404 `model_not_found`. */
export const retrieveModel: Handler = async (_body, { params }, state) => {
  const id = params.id ?? '';
  modelFor(state, id);
  return modelObject(id, state);
};

/** Checks that model `id` is served here, or throws a 404 naming the ones there are. */
export function modelFor(state: ServerState, id: string): void {
  if (!state.models.includes(id)) {
    throw new HttpError(
      404,
      'model_not_found',
      `The model ${JSON.stringify(id)} does not exist here. This server has ${state.models.map((m) => JSON.stringify(m)).join(' and ')} (GET /v1/models).`,
      'model',
    );
  }
}

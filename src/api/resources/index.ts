/** The registry of every resource skiff serves. */
import { Registry } from '../registry.js';
import { coreResources } from './core.js';
import { appsResources } from './apps.js';
import { batchResources } from './batch.js';
import { autoscalingResources } from './autoscaling.js';
import { miscResources } from './misc.js';
import { authenticationResources } from './authentication.js';
import { certificatesResources } from './certificates.js';
import { accessReviewResources } from './access-reviews.js';
import { timelines } from './timeline.js';

export function defaultRegistry(): Registry {
  const r = new Registry();
  for (const def of [...coreResources, ...appsResources, ...batchResources, ...autoscalingResources, ...miscResources, ...authenticationResources, ...certificatesResources, timelines]) r.add(def);
  for (const def of accessReviewResources) r.add(def);
  return r;
}

/** authentication.k8s.io/v1 TokenReview: create-only, answered by the API server's authenticator and never stored. */
import { defineResource } from './common.js';

export const tokenreviews = defineResource('authentication.k8s.io', 'TokenReview', 'tokenreviews', false, { verbs: ['create'], review: true });

export const authenticationResources = [tokenreviews];

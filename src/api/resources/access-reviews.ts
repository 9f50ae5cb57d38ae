/**
 * The access review APIs: authorization.k8s.io/v1 SelfSubjectAccessReview, SubjectAccessReview,
 * SelfSubjectRulesReview (`kubectl auth can-i [--list]`) and authentication.k8s.io/v1
 * SelfSubjectReview (`kubectl auth whoami`). Create-only: the API server answers them and
 * stores nothing.
 */
import { defineResource } from './common.js';

const authz = 'authorization.k8s.io';
const create = { verbs: ['create'], review: true };

export const accessReviewResources = [
  defineResource(authz, 'SelfSubjectAccessReview', 'selfsubjectaccessreviews', false, create),
  defineResource(authz, 'SubjectAccessReview', 'subjectaccessreviews', false, create),
  defineResource(authz, 'LocalSubjectAccessReview', 'localsubjectaccessreviews', true, create),
  defineResource(authz, 'SelfSubjectRulesReview', 'selfsubjectrulesreviews', false, create),
  defineResource('authentication.k8s.io', 'SelfSubjectReview', 'selfsubjectreviews', false, create),
];

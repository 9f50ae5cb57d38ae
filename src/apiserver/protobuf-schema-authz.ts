/**
 * Protobuf messages of the access review APIs (authorization.k8s.io/v1 and
 * authentication.k8s.io/v1 SelfSubjectReview), which kubectl `auth can-i` and `auth whoami`
 * POST as `application/vnd.kubernetes.protobuf`. Field numbers from upstream
 * k8s.io/api/authorization/v1/generated.proto and authentication/v1/generated.proto; only
 * request fields are listed (status is the server's to fill). Options as in protobuf-schema.ts.
 */
export const ACCESS_REVIEW_PROTO = `
syntax = "proto2";
package authorization;
message ResourceAttributes {
  optional string namespace = 1;
  optional string verb = 2;
  optional string group = 3;
  optional string version = 4;
  optional string resource = 5;
  optional string subresource = 6;
  optional string name = 7;
}
message NonResourceAttributes { optional string path = 1; optional string verb = 2; }
message SelfSubjectAccessReview { optional meta.ObjectMeta metadata = 1; optional SelfSubjectAccessReviewSpec spec = 2; }
message SelfSubjectAccessReviewSpec { optional ResourceAttributes resourceAttributes = 1; optional NonResourceAttributes nonResourceAttributes = 2; }
message SubjectAccessReview { optional meta.ObjectMeta metadata = 1; optional SubjectAccessReviewSpec spec = 2; }
message LocalSubjectAccessReview { optional meta.ObjectMeta metadata = 1; optional SubjectAccessReviewSpec spec = 2; }
message SubjectAccessReviewSpec {
  optional ResourceAttributes resourceAttributes = 1;
  optional NonResourceAttributes nonResourceAttributes = 2;
  optional string user = 3;
  repeated string groups = 4;
  optional string uid = 6;
}
message SelfSubjectRulesReview { optional meta.ObjectMeta metadata = 1; optional SelfSubjectRulesReviewSpec spec = 2; }
message SelfSubjectRulesReviewSpec { optional string namespace = 1; }
message SelfSubjectReview { optional meta.ObjectMeta metadata = 1; }
`;

/** Message type per kind, for KIND_TYPES. */
export const AUTHORIZATION_KINDS = {
  SelfSubjectAccessReview: 'authorization.SelfSubjectAccessReview',
  SubjectAccessReview: 'authorization.SubjectAccessReview',
  LocalSubjectAccessReview: 'authorization.LocalSubjectAccessReview',
  SelfSubjectRulesReview: 'authorization.SelfSubjectRulesReview',
};

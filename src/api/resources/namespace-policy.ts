/** ServiceAccounts, LimitRanges and ResourceQuotas (core/v1): per-namespace identity and limits. */
import { age } from '../meta.js';
import { columns, defineResource } from './common.js';

export const serviceaccounts = defineResource('', 'ServiceAccount', 'serviceaccounts', true, {
  shortNames: ['sa'],
  subresources: ['token'],
  table: {
    columns: columns('Name', 'Secrets', 'Age'),
    cells: (sa, now) => [sa.metadata?.name, ((sa.secrets ?? []) as unknown[]).length, age(sa, now)],
  },
});

export const limitranges = defineResource('', 'LimitRange', 'limitranges', true, { shortNames: ['limits'] });

export const resourcequotas = defineResource('', 'ResourceQuota', 'resourcequotas', true, {
  shortNames: ['quota'],
  subresources: ['status'],
  strategy: { hasStatus: true },
});

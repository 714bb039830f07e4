// English of segments.zh-CN.ts. Typed after it: the compiler refuses a missing or extra key.
import type { segmentsZhCN } from './segments.zh-CN';

export const segmentsEn: { [K in keyof typeof segmentsZhCN]: string } = {
  title: 'Segments',
  subtitle: 'Groups of customers by attributes, tags and behaviour, kept up to date as data arrives',
  new: 'New segment',
  editTitle: 'Edit segment: {{name}}',
  name: 'Name',
  namePlaceholder: 'e.g. High-value customers in Shanghai',
  description: 'Description',
  condition: 'Condition',
  members: 'Customers',
  recomputedAt: 'Last full computation',
  timeDependent: 'Refreshed over time',
  timeDependentHint: 'The condition has time windows, day counts or expiring tags: it is recomputed periodically',
  empty: 'No segments yet',
  recompute: 'Recompute',
  recomputed: 'Recomputed: {{count}} customers ({{added}} added, {{removed}} removed)',
  saved: 'Segment saved, members computed',
  deleteConfirm: 'Delete this segment?',
  deleteHint: 'The customers themselves are not affected',
  viewMembers: 'View customers',
  saveHint: 'Saving computes the members over every customer now; afterwards they follow events, attributes and tags as they arrive.',
};

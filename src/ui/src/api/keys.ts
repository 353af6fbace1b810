// TanStack Query keys: one place, so the WebSocket cache updates hit what the pages read.

export const keys = {
  me: ["me"] as const,
  nodeTypes: ["node-types"] as const,
  workflows: ["workflows"] as const,
  workflowList: (offset: number, limit: number) => ["workflows", { offset, limit }] as const,
  workflow: (slug: string) => ["workflow", slug] as const,
  live: (slug: string) => ["live", slug] as const,
  executions: ["executions"] as const,
  executionList: (filter: { workflow?: string; status?: string; offset: number; limit: number }) =>
    ["executions", filter] as const,
  execution: (id: string) => ["execution", id] as const,
  credentials: ["credentials"] as const,
  credentialList: (offset: number, limit: number) => ["credentials", { offset, limit }] as const,
  credentialModels: (id: number) => ["credential-models", id] as const,
  schedules: ["schedules"] as const,
  scheduleList: (offset: number, limit: number) => ["schedules", { offset, limit }] as const,
  users: ["users"] as const,
  userList: (offset: number, limit: number) => ["users", { offset, limit }] as const,
  profile: ["profile"] as const,
  apiKeys: (owner: "me" | number) => ["api-keys", owner] as const,
  myUsage: ["usage", "me"] as const,
};

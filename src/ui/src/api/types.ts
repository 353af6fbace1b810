// The shapes of pipelitd's REST API (docs/api.md).

export interface Page<T> {
  items: T[];
  total: number;
}

export interface Workflow {
  id: number;
  name: string;
  slug: string;
  description: string | null;
  owner_id: number;
  is_active: boolean;
  is_public: boolean;
  is_default: boolean;
  tags: string[];
  node_count: number;
  edge_count: number;
  created_at: string;
  updated_at: string;
}

export interface NodeConfig {
  extra_config: Record<string, unknown> | null;
  model_name: string | null;
  [key: string]: unknown;
}

export interface WorkflowNode {
  id: number;
  node_id: string;
  component_type: string;
  label: string | null;
  is_entry_point: boolean;
  interrupt_before: boolean;
  interrupt_after: boolean;
  position_x: number;
  position_y: number;
  config: NodeConfig;
  updated_at: string;
}

export interface WorkflowEdge {
  id: number;
  source_node_id: string;
  target_node_id: string;
  edge_type: "direct" | "conditional";
  edge_label: string;
  condition_value: string | null;
  priority: number;
}

export interface WorkflowDetail extends Workflow {
  nodes: WorkflowNode[];
  edges: WorkflowEdge[];
}

export type ExecutionStatus =
  | "pending"
  | "running"
  | "interrupted"
  | "completed"
  | "failed"
  | "cancelled";

export interface Execution {
  execution_id: string;
  workflow_slug: string;
  status: ExecutionStatus;
  error_message: string | null;
  error_code: string | null;
  trigger_node_id: string | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  total_tokens: number;
  total_cost_usd: number;
  llm_calls: number;
}

export interface ExecutionLog {
  id: number;
  node_id: string;
  status: "completed" | "failed" | "cancelled";
  input: unknown;
  output: unknown;
  error: string | null;
  error_code: string | null;
  metadata: { attempt?: number; route?: string; iteration?: string } | null;
  retry_count: number;
  duration_ms: number | null;
  timestamp: string;
}

export interface NodeRun {
  node_id: string;
  iteration: string;
  status: string;
  attempt: number;
  error: string | null;
  error_code: string | null;
}

export interface PendingConfirmation {
  task_id: string;
  node_id: string;
  prompt: string;
  created_at: string;
  expires_at: string | null;
}

export interface ExecutionDetail extends Execution {
  final_output: unknown;
  trigger_payload: unknown;
  logs: ExecutionLog[];
  node_runs: NodeRun[];
  pending_confirmations: PendingConfirmation[];
  children: { execution_id: string; workflow_slug: string; parent_node_id: string; status: string }[];
  parent_execution_id: string | null;
  depth: number;
}

export interface Me {
  id: number;
  username: string;
  role: "admin" | "normal";
  mfa_enabled: boolean;
}

export interface TokenAnswer {
  key: string;
  requires_mfa: boolean;
  /** With requires_mfa: what login-verify takes with the code (valid for 5 minutes). */
  mfa_token?: string;
}

/** A JSON-schema-like description of a config value (GET /workflows/node-types/). */
export interface ConfigSchema {
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  description?: string;
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  properties?: Record<string, ConfigSchema>;
  items?: ConfigSchema;
  required?: string[];
}

export interface PortSpec {
  name: string;
  data_type: string;
  description: string;
  required: boolean;
}

export interface NodeType {
  component_type: string;
  display_name: string;
  description: string;
  category: string;
  executable: boolean;
  implemented: boolean;
  is_tool: boolean;
  inputs: PortSpec[];
  outputs: PortSpec[];
  requires_model: boolean;
  requires_tools: boolean;
  requires_memory: boolean;
  requires_output_parser: boolean;
  requires_skills: boolean;
  config_schema: ConfigSchema;
}

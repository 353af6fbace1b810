// The one WebSocket of the page (docs/api.md, "WebSocket"). It connects to /ws/ with the
// session's key, keeps the set of channels the page wants and subscribes them again after
// every reconnect, reconnects with backoff (1 s doubling to 30 s), answers the server's
// pings, and checks with pings of its own that the connection still carries messages.

export interface WsEvent {
  type: string;
  channel?: string;
  execution_id?: string;
  timestamp?: number;
  data?: Record<string, unknown>;
  detail?: string;
}

export type ConnectionState = "offline" | "connecting" | "open";

type Handler = (event: WsEvent) => void;

const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30000;
const PING_EVERY_MS = 25000;
const PONG_WITHIN_MS = 10000;
// The server closes with 1008 when the key is refused (or a pong came too late).
const CLOSE_POLICY = 1008;

export class WsManager {
  private socket: WebSocket | null = null;
  private key: string | null = null;
  private wanted = new Map<string, number>(); // channel → how many users want it
  private acknowledged = new Set<string>();
  private handlers = new Set<Handler>();
  private stateListeners = new Set<() => void>();
  private backoff = BACKOFF_MIN_MS;
  private reconnectTimer: number | undefined;
  private pingTimer: number | undefined;
  private pongTimer: number | undefined;
  private everOpened = false;
  private state: ConnectionState = "offline";
  /** Called after a reconnect (not the first connect): what came meanwhile was missed. */
  onReconnect: () => void = () => {};
  /** Called when the server refused the key at connect. */
  onPolicyClose: () => void = () => {};

  /** Connects with key, or disconnects when key is null. */
  setKey(key: string | null): void {
    if (key === this.key) return;
    this.key = key;
    this.everOpened = false;
    this.close();
    if (key) this.connect();
  }

  connectionState(): ConnectionState {
    return this.state;
  }

  onStateChange(listener: () => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  onEvent(handler: Handler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** True once the server confirmed the subscription on the current connection. */
  isSubscribed(channel: string): boolean {
    return this.acknowledged.has(channel);
  }

  subscribe(channel: string): () => void {
    const n = this.wanted.get(channel) ?? 0;
    this.wanted.set(channel, n + 1);
    if (n === 0) this.send({ type: "subscribe", channel });
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const left = (this.wanted.get(channel) ?? 1) - 1;
      if (left > 0) {
        this.wanted.set(channel, left);
        return;
      }
      this.wanted.delete(channel);
      this.acknowledged.delete(channel);
      this.send({ type: "unsubscribe", channel });
    };
  }

  private setState(state: ConnectionState) {
    if (state === this.state) return;
    this.state = state;
    this.stateListeners.forEach((l) => l());
  }

  private send(message: object): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private url(): string {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${window.location.host}/ws/?token=${encodeURIComponent(this.key ?? "")}`;
  }

  private connect(): void {
    if (!this.key) return;
    window.clearTimeout(this.reconnectTimer);
    this.setState("connecting");
    const socket = new WebSocket(this.url());
    this.socket = socket;

    socket.onopen = () => {
      this.backoff = BACKOFF_MIN_MS;
      this.setState("open");
      for (const channel of this.wanted.keys()) this.send({ type: "subscribe", channel });
      this.schedulePing();
      if (this.everOpened) this.onReconnect();
      this.everOpened = true;
    };
    socket.onmessage = (m) => {
      if (socket !== this.socket) return;
      this.schedulePing();
      let event: WsEvent;
      try {
        event = JSON.parse(String(m.data));
      } catch {
        return;
      }
      this.dispatch(event);
    };
    socket.onclose = (e) => {
      if (socket !== this.socket) return;
      this.socket = null;
      this.acknowledged.clear();
      this.clearPing();
      this.setState("offline");
      if (e.code === CLOSE_POLICY) this.onPolicyClose();
      this.scheduleReconnect();
    };
  }

  private dispatch(event: WsEvent): void {
    switch (event.type) {
      case "ping":
        this.send({ type: "pong" });
        return;
      case "pong":
        window.clearTimeout(this.pongTimer);
        return;
      case "subscribed":
        if (event.channel) this.acknowledged.add(event.channel);
        break;
      case "unsubscribed":
        // Also unasked: the workflow was deleted or its slug changed.
        if (event.channel) this.acknowledged.delete(event.channel);
        break;
    }
    this.handlers.forEach((h) => h(event));
  }

  private scheduleReconnect(): void {
    if (!this.key) return;
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_MS);
    this.reconnectTimer = window.setTimeout(() => this.connect(), delay);
  }

  private schedulePing(): void {
    this.clearPing();
    this.pingTimer = window.setTimeout(() => {
      this.send({ type: "ping" });
      this.pongTimer = window.setTimeout(() => this.socket?.close(), PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }

  private clearPing(): void {
    window.clearTimeout(this.pingTimer);
    window.clearTimeout(this.pongTimer);
  }

  private close(): void {
    window.clearTimeout(this.reconnectTimer);
    this.clearPing();
    this.acknowledged.clear();
    const socket = this.socket;
    this.socket = null;
    socket?.close();
    this.setState("offline");
  }
}

export const wsManager = new WsManager();

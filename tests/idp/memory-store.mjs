// A small in-memory oidc-provider adapter whose storage outlives a provider
// instance: the server re-creates a provider on key rotation and hands the new
// instance the same store, so sessions, interactions, grants and codes survive.

export function createStore() {
  const entries = new Map(); // "Model:id" -> { payload, expiresAt }
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [key, entry] of entries) if (entry.expiresAt <= now) entries.delete(key);
  }, 60_000);
  sweep.unref();

  function get(key) {
    const entry = entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      entries.delete(key);
      return undefined;
    }
    return entry.payload;
  }

  /** Returns an adapter class for oidc-provider's `adapter` option. */
  return class MemoryStoreAdapter {
    constructor(model) {
      this.model = model;
    }

    key(id) {
      return `${this.model}:${id}`;
    }

    async upsert(id, payload, expiresIn) {
      const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : Infinity;
      entries.set(this.key(id), { payload: structuredClone(payload), expiresAt });
    }

    async find(id) {
      const payload = get(this.key(id));
      return payload ? structuredClone(payload) : undefined;
    }

    async findByUid(uid) {
      for (const [key] of entries) {
        if (!key.startsWith(`${this.model}:`)) continue;
        const payload = get(key);
        if (payload?.uid === uid) return structuredClone(payload);
      }
      return undefined;
    }

    async findByUserCode(userCode) {
      for (const [key] of entries) {
        if (!key.startsWith(`${this.model}:`)) continue;
        const payload = get(key);
        if (payload?.userCode === userCode) return structuredClone(payload);
      }
      return undefined;
    }

    async consume(id) {
      const entry = entries.get(this.key(id));
      if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
    }

    async destroy(id) {
      entries.delete(this.key(id));
    }

    async revokeByGrantId(grantId) {
      for (const [key, entry] of entries) {
        if (key.startsWith(`${this.model}:`) && entry.payload?.grantId === grantId) entries.delete(key);
      }
    }
  };
}

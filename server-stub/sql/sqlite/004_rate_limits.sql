-- SQLite migration 4: rate-limit token buckets (Store::take_token), one row per bucket key
-- ("send:<user>", "create:<user>", "upload:<user>", "notify:<user>"), so every process on the
-- database file shares them. Tokens: what the bucket held at UpdatedAt (ms); Taken: whether the
-- last take got a token (the take's single upsert returns it). The take (sqlite_store.cpp):
--   INSERT INTO RateLimits(BucketKey, Tokens, Taken, UpdatedAt) VALUES(?1, <full bucket minus one>, ?3 >= 1, ?4)
--   ON CONFLICT(BucketKey) DO UPDATE SET Tokens = <refilled> - <1 if refilled >= 1>, Taken = <refilled >= 1>,
--     UpdatedAt = MAX(UpdatedAt, ?4)  RETURNING Tokens, Taken
--   with <refilled> = MIN(burst, Tokens + MAX(?4 - UpdatedAt, 0) * per_min / 60000.0).
CREATE TABLE RateLimits(
    BucketKey TEXT PRIMARY KEY,
    Tokens REAL NOT NULL,
    Taken INTEGER NOT NULL,
    UpdatedAt INTEGER NOT NULL) WITHOUT ROWID;

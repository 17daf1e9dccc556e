-- PostgreSQL migration 2: rate-limit token buckets (Store::take_token), one row per bucket key
-- ("send:<user>", "create:<user>", "upload:<user>", "notify:<user>"), shared by every backend
-- instance on the database: a user's limits hold however the load balancer spreads the requests.
-- Tokens: what the bucket held at UpdatedAt (ms since the epoch); Taken: whether the last take
-- got a token, which the take's RETURNING reports.
--
-- The take (pg_store.cpp, PgStore::take_token) is one statement, atomic across instances: the
-- upsert locks the row, and a concurrent take waits for it and then works on the committed row.
--   INSERT INTO RateLimits AS b (BucketKey, Tokens, Taken, UpdatedAt)
--   VALUES($1, <full bucket minus one>, $3 >= 1, $4)
--   ON CONFLICT(BucketKey) DO UPDATE SET
--     Tokens = <refilled> - (1 if <refilled> >= 1), Taken = <refilled> >= 1,
--     UpdatedAt = GREATEST(b.UpdatedAt, $4)
--   RETURNING Tokens, Taken
--   with <refilled> = LEAST($3, b.Tokens + GREATEST($4 - b.UpdatedAt, 0) * $2 / 60000)
--   ($1 key, $2 tokens per minute, $3 burst, $4 now in ms). Its transaction commits with
--   synchronous_commit off: a crash may forget the last takes (a fuller bucket), never more.
CREATE TABLE RateLimits(
    BucketKey TEXT COLLATE "C" PRIMARY KEY,
    Tokens DOUBLE PRECISION NOT NULL,
    Taken BOOLEAN NOT NULL,
    UpdatedAt BIGINT NOT NULL);

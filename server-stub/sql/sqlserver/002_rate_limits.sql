-- SQL Server (Azure SQL Database) migration 2: rate-limit token buckets, as
-- sql/postgresql/002_rate_limits.sql, and the take (PgStore::take_token on PostgreSQL).
--
-- UNTESTED REFERENCE (see 001_init.sql): only SQLite and PostgreSQL are tested on this
-- project's machines.
CREATE TABLE RateLimits(
    BucketKey VARCHAR(300) COLLATE Latin1_General_100_BIN2_UTF8 NOT NULL PRIMARY KEY,
    Tokens FLOAT NOT NULL,
    Taken BIT NOT NULL,
    UpdatedAt BIGINT NOT NULL);

-- The take. Parameters: @key, @per_min (INT), @burst (INT), @now (BIGINT ms). One statement:
-- HOLDLOCK (serializable range lock) makes MERGE's "not matched" check and its insert atomic,
-- UPDLOCK makes concurrent takes of one key wait for each other instead of deadlocking.
-- OUTPUT gives Tokens and Taken after the take; not taken: wait ceil((1 - Tokens) * 60 / @per_min) s.
-- LEAST/GREATEST: Azure SQL Database and SQL Server 2022.
MERGE RateLimits WITH (UPDLOCK, HOLDLOCK) AS b
USING (SELECT @key AS BucketKey) AS k ON b.BucketKey = k.BucketKey
WHEN MATCHED THEN UPDATE SET
    Tokens = LEAST(CAST(@burst AS FLOAT), b.Tokens + GREATEST(@now - b.UpdatedAt, 0) * (@per_min / 60000.0))
             - CASE WHEN LEAST(CAST(@burst AS FLOAT), b.Tokens + GREATEST(@now - b.UpdatedAt, 0) * (@per_min / 60000.0)) >= 1
                    THEN 1 ELSE 0 END,
    Taken = CASE WHEN LEAST(CAST(@burst AS FLOAT), b.Tokens + GREATEST(@now - b.UpdatedAt, 0) * (@per_min / 60000.0)) >= 1
                 THEN 1 ELSE 0 END,
    UpdatedAt = GREATEST(b.UpdatedAt, @now)
WHEN NOT MATCHED THEN INSERT(BucketKey, Tokens, Taken, UpdatedAt)
    VALUES(@key, CASE WHEN @burst >= 1 THEN @burst - 1 ELSE @burst END, CASE WHEN @burst >= 1 THEN 1 ELSE 0 END, @now)
OUTPUT inserted.Tokens, inserted.Taken;

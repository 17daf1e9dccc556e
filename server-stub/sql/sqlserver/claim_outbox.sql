-- SQL Server: the outbox claim and the per-conversation sequence number, as pg_store.cpp does
-- them on PostgreSQL.
--
-- UNTESTED REFERENCE (see 001_init.sql): only SQLite and PostgreSQL are tested on this
-- project's machines.
--
-- Parameters: @now (BIGINT ms), @me (this instance's id), @lease_ms, @limit.

-- 1. Claim due rows for this instance. UPDLOCK takes update locks on the rows read, READPAST
--    skips rows another session has locked (PostgreSQL: FOR UPDATE SKIP LOCKED), ROWLOCK keeps
--    the locks to rows. The application lock serializes claims between instances, so a row is
--    never handed out while an older pending row of its target is being claimed elsewhere.
BEGIN TRANSACTION;
EXEC sp_getapplock @Resource = 'chat-outbox-claim', @LockMode = 'Exclusive', @LockOwner = 'Transaction';
WITH pick AS (
    SELECT TOP (@limit) o.*
    FROM OutboxEvents o WITH (UPDLOCK, READPAST, ROWLOCK)
    WHERE o.ProcessedAt IS NULL AND o.Dead = 0 AND o.NextAttemptAt <= @now
      AND (o.ClaimedUntil IS NULL OR o.ClaimedUntil <= @now OR o.ClaimedBy = @me)
      -- per-target order: not while an older pending row of the same target is leased elsewhere
      AND NOT EXISTS (SELECT 1 FROM OutboxEvents p
                      WHERE p.Target = o.Target AND p.Id < o.Id AND p.ProcessedAt IS NULL AND p.Dead = 0
                        AND p.ClaimedBy <> @me AND p.ClaimedUntil > @now)
    ORDER BY o.Id)
UPDATE pick SET ClaimedBy = @me, ClaimedUntil = @now + @lease_ms
OUTPUT inserted.Id, inserted.EventId, inserted.Type, inserted.Target, inserted.PayloadJson, inserted.CreatedAt,
       inserted.ProcessedAt, inserted.RetryCount, inserted.NextAttemptAt, inserted.LastError, inserted.Dead;
COMMIT;
-- The caller sorts the OUTPUT rows by Id (OUTPUT has no order) and publishes them in that order.

-- 2. Publish done / failed (each ends the claim).
-- UPDATE OutboxEvents SET ProcessedAt = @now, ClaimedBy = NULL, ClaimedUntil = NULL
--     WHERE EventId = @eventId AND ProcessedAt IS NULL;
-- UPDATE OutboxEvents SET RetryCount = RetryCount + 1, LastError = @error, NextAttemptAt = @next,
--        Dead = @dead, ClaimedBy = NULL, ClaimedUntil = NULL
--     WHERE EventId = @eventId;

-- 3. A message's sequence number, gap-free and unique across instances: in the message's own
--    transaction, lock the conversation row, check the idempotency key, then take the next seq.
-- BEGIN TRANSACTION;
-- SELECT LastSeq FROM Conversations WITH (UPDLOCK, ROWLOCK) WHERE ConversationId = @cid;
-- SELECT ... FROM Messages WHERE ConversationId = @cid AND SenderId = @sender AND ClientMessageId = @cmid;
--     (found: COMMIT and return the stored message)
-- UPDATE Conversations SET LastSeq = LastSeq + 1 OUTPUT inserted.LastSeq WHERE ConversationId = @cid;
-- INSERT INTO Messages(...) VALUES(...); INSERT INTO OutboxEvents(...) VALUES(...), (...);
-- COMMIT;

-- PostgreSQL migration 5: replies, as SQLite's migration 7 (sql/sqlite/007_replies.sql).
ALTER TABLE Messages ADD COLUMN ReplyToId TEXT COLLATE "C";
ALTER TABLE Messages ADD COLUMN ReplyToSeq BIGINT;

-- SQL Server (Azure SQL Database) migration 5: replies, as sql/postgresql/005_replies.sql.
--
-- UNTESTED REFERENCE (see 001_init.sql): only SQLite and PostgreSQL are tested on this
-- project's machines.
ALTER TABLE Messages ADD ReplyToId VARCHAR(128) COLLATE Latin1_General_100_BIN2_UTF8 NULL,
    ReplyToSeq BIGINT NULL;

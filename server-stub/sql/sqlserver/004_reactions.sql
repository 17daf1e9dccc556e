-- SQL Server (Azure SQL Database) migration 4: reactions, as sql/postgresql/004_reactions.sql.
--
-- UNTESTED REFERENCE (see 001_init.sql): only SQLite and PostgreSQL are tested on this
-- project's machines.
CREATE TABLE MessageReactions(
    ConversationId VARCHAR(256) COLLATE Latin1_General_100_BIN2_UTF8 NOT NULL,
    Seq BIGINT NOT NULL,
    MessageId VARCHAR(256) COLLATE Latin1_General_100_BIN2_UTF8 NOT NULL,
    UserId VARCHAR(256) COLLATE Latin1_General_100_BIN2_UTF8 NOT NULL,
    Emoji VARCHAR(64) COLLATE Latin1_General_100_BIN2_UTF8 NOT NULL,
    CreatedAt BIGINT NOT NULL,
    CONSTRAINT MessageReactionsKey PRIMARY KEY(MessageId, UserId, Emoji));
CREATE INDEX MessageReactionsSeq ON MessageReactions(ConversationId, Seq);

-- SQLite migration 1: users, conversations, messages, transactional outbox.
-- Applied in order by sqlite_store.cpp; PRAGMA user_version records how many ran. Never edit a
-- migration that has shipped: add the next file.
CREATE TABLE Users(UserId TEXT PRIMARY KEY, DisplayName TEXT NOT NULL);
CREATE TABLE TeamMembers(TeamId TEXT NOT NULL, UserId TEXT NOT NULL, PRIMARY KEY(TeamId, UserId));
CREATE TABLE Conversations(
    ConversationId TEXT PRIMARY KEY, Title TEXT NOT NULL, ContextJson TEXT NOT NULL DEFAULT '{}',
    CreatedBy TEXT, CreatedAt INTEGER NOT NULL, LastSeq INTEGER NOT NULL DEFAULT 0);
CREATE TABLE ConversationUsers(
    ConversationId TEXT NOT NULL, UserId TEXT NOT NULL, LastReadSeq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY(ConversationId, UserId));
CREATE TABLE Messages(
    MessageId TEXT PRIMARY KEY, ConversationId TEXT NOT NULL, Seq INTEGER NOT NULL, SenderId TEXT NOT NULL,
    Body TEXT NOT NULL, ClientMessageId TEXT, AttachmentJson TEXT, CreatedAt INTEGER NOT NULL,
    UNIQUE(ConversationId, Seq), UNIQUE(ConversationId, SenderId, ClientMessageId));
CREATE TABLE OutboxEvents(
    EventId TEXT PRIMARY KEY, Type TEXT NOT NULL, Target TEXT NOT NULL, PayloadJson TEXT NOT NULL,
    CreatedAt INTEGER NOT NULL, ProcessedAt INTEGER, RetryCount INTEGER NOT NULL DEFAULT 0,
    NextAttemptAt INTEGER NOT NULL, LastError TEXT, Dead INTEGER NOT NULL DEFAULT 0);
CREATE INDEX OutboxDue ON OutboxEvents(ProcessedAt, Dead, NextAttemptAt);

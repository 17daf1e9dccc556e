-- PostgreSQL migration 1: the schema SQLite has after its migration 3 (sql/sqlite/), in
-- PostgreSQL's types, plus what several backend instances on one database need.
--
-- Applied in order by pg_store.cpp inside one transaction under an advisory lock (instances
-- starting together migrate once); SchemaMigrations records each file. Never edit a migration
-- that has shipped: add the next file.
--
-- Differences from SQLite, each on purpose:
--   * times are BIGINT milliseconds since the epoch, sequence numbers BIGINT;
--   * ids compare byte by byte (COLLATE "C"), as SQLite's TEXT does, whatever the database's
--     default collation (Azure's is en_US.utf8): ORDER BY UserId gives the same order on both;
--   * OutboxEvents has an Id (commit order within a target, which SQLite's rowid gives) and a
--     claim: ClaimedBy (an instance id) until ClaimedUntil (ms); a row whose lease expired is
--     taken over by another instance;
--   * Dead is a BOOLEAN.
CREATE TABLE Users(
    UserId TEXT COLLATE "C" PRIMARY KEY,
    DisplayName TEXT NOT NULL);
CREATE TABLE TeamMembers(
    TeamId TEXT COLLATE "C" NOT NULL,
    UserId TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY(TeamId, UserId));
CREATE INDEX TeamMembersUser ON TeamMembers(UserId);

CREATE TABLE Conversations(
    ConversationId TEXT COLLATE "C" PRIMARY KEY,
    Title TEXT NOT NULL,
    ContextJson TEXT NOT NULL DEFAULT '{}',
    CreatedBy TEXT COLLATE "C",
    CreatedAt BIGINT NOT NULL,
    LastSeq BIGINT NOT NULL DEFAULT 0);  -- the last message's Seq: incremented under the row's lock
CREATE TABLE ConversationUsers(
    ConversationId TEXT COLLATE "C" NOT NULL,
    UserId TEXT COLLATE "C" NOT NULL,
    LastReadSeq BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY(ConversationId, UserId));
CREATE INDEX ConversationUsersUser ON ConversationUsers(UserId);

CREATE TABLE Messages(
    MessageId TEXT COLLATE "C" PRIMARY KEY,
    ConversationId TEXT COLLATE "C" NOT NULL,
    Seq BIGINT NOT NULL,
    SenderId TEXT COLLATE "C" NOT NULL,
    Body TEXT NOT NULL,
    ClientMessageId TEXT COLLATE "C",
    AttachmentJson TEXT,
    CreatedAt BIGINT NOT NULL,
    UNIQUE(ConversationId, Seq),
    UNIQUE(ConversationId, SenderId, ClientMessageId));

CREATE TABLE OutboxEvents(
    Id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    EventId TEXT COLLATE "C" NOT NULL UNIQUE,
    Type TEXT NOT NULL,
    Target TEXT COLLATE "C" NOT NULL,
    PayloadJson TEXT NOT NULL,
    CreatedAt BIGINT NOT NULL,
    ProcessedAt BIGINT,
    RetryCount INTEGER NOT NULL DEFAULT 0,
    NextAttemptAt BIGINT NOT NULL,
    LastError TEXT,
    Dead BOOLEAN NOT NULL DEFAULT FALSE,
    ClaimedBy TEXT COLLATE "C",
    ClaimedUntil BIGINT);
-- Pending rows only: the claim scans them in Id order, and per target for the order check.
CREATE INDEX OutboxPending ON OutboxEvents(Id) WHERE ProcessedAt IS NULL AND NOT Dead;
CREATE INDEX OutboxPendingTarget ON OutboxEvents(Target, Id) WHERE ProcessedAt IS NULL AND NOT Dead;

CREATE TABLE Notifications(
    Seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    NotificationId TEXT COLLATE "C" NOT NULL UNIQUE,
    TargetKind TEXT COLLATE "C" NOT NULL,
    TargetId TEXT COLLATE "C" NOT NULL DEFAULT '',
    Title TEXT NOT NULL,
    Body TEXT NOT NULL,
    ActionLabel TEXT,
    ActionUrl TEXT,
    CreatedAt BIGINT NOT NULL,
    CreatedBy TEXT COLLATE "C" NOT NULL DEFAULT '');
CREATE INDEX NotificationsTarget ON Notifications(TargetKind, TargetId, Seq);
CREATE TABLE NotificationReads(
    NotificationId TEXT COLLATE "C" NOT NULL,
    UserId TEXT COLLATE "C" NOT NULL,
    SeenAt BIGINT,
    ReadAt BIGINT,
    ArchivedAt BIGINT,
    PRIMARY KEY(NotificationId, UserId));

CREATE TABLE Blobs(
    BlobId TEXT COLLATE "C" PRIMARY KEY,
    Name TEXT NOT NULL,
    ContentType TEXT NOT NULL,
    Size BIGINT NOT NULL,
    UploaderId TEXT COLLATE "C" NOT NULL,
    CreatedAt BIGINT NOT NULL);
CREATE INDEX BlobsUploader ON Blobs(UploaderId);
